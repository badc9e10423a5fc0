"""Section "memory" (avatar part, issue 17 item 6): peak memory of processing one avatar upload.

Each upload is processed by `accounts.avatars.process_avatar` in a fresh Python process (`python -m
bench.avatar probe FILE`), which warms up on a tiny image, resets its peak RSS (/proc/self/clear_refs)
and reports how far the peak rose above the resident size before the upload: the memory the upload
cost, Pillow's C buffers and the codecs' own (libjpeg, libwebp) included, which tracemalloc cannot
see. A fresh process per upload keeps one measurement's freed-but-kept heap out of the next.

The uploads are the worst an attacker can send within the limits: for each format, a uniform image
(so the file is small) of as many pixels as AVATAR_MAX_PIXELS allows, in the mode that decodes
largest; beside them, the review's 40-megapixel PNG and eight of the worst uploads at once in one
process. The baseline, measured the same way in the same run, is an ordinary 400x400 PNG.
"""

from __future__ import annotations

import io
import json
import math
import os
import struct
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.core import Context, Figure

ROOT = Path(__file__).resolve().parent.parent
REVIEW_PIXELS = 40_000_000  # the review's uploads: 131 KB PNGs at the old 40-megapixel limit
CONCURRENT = 8  # uploads at once in one process, as in the review


@dataclass(frozen=True)
class Sample:
    name: str  # file name in the samples folder
    label: str  # what it is, in the figure's name
    width: int
    height: int


def _dimensions(pixels: int) -> tuple[int, int]:
    """The 4:3 canvas with the most pixels not over `pixels`."""
    width = math.isqrt(pixels * 4 // 3)
    return width, pixels // width


def _png_bytes(width: int, height: int, *, alpha: bool) -> bytes:
    """A uniform 8-bit RGB(A) PNG written row by row: no full-size image in this process."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    channels = 4 if alpha else 3
    row = b"\x00" + bytes([40, 120, 200, 255][:channels]) * width  # filter byte, then the pixels
    packer = zlib.compressobj(9)
    idat = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, 6 if alpha else 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def samples(max_pixels: int) -> list[Sample]:
    width, height = _dimensions(max_pixels)
    review_width, review_height = _dimensions(REVIEW_PIXELS)
    return [
        Sample("baseline.png", "400x400 RGB PNG", 400, 400),
        Sample("png-rgba.png", "RGBA PNG", width, height),
        Sample("png-rgb.png", "RGB PNG", width, height),
        Sample("jpeg-cmyk-progressive.jpg", "progressive 4:4:4 CMYK JPEG", width, height),
        Sample("jpeg-progressive.jpg", "progressive 4:4:4 RGB JPEG", width, height),
        Sample("webp-lossless.webp", "lossless RGBA WebP", width, height),
        Sample("gif.gif", "GIF", width, height),
        Sample("review.png", "the review's RGB PNG", review_width, review_height),
    ]


def _make(folder: Path, max_pixels: int) -> None:
    """Write every sample into `folder` (run in a child: the encoders need full-size images)."""
    from PIL import Image

    for sample in samples(max_pixels):
        path, size = folder / sample.name, (sample.width, sample.height)
        if sample.name.endswith(".png"):
            path.write_bytes(_png_bytes(*size, alpha="RGBA" in sample.label))
        elif "CMYK" in sample.label:
            Image.new("CMYK", size, (10, 80, 160, 0)).save(path, "JPEG", progressive=True, subsampling=0, quality=90)
        elif sample.name.endswith(".jpg"):
            Image.new("RGB", size, (40, 120, 200)).save(path, "JPEG", progressive=True, subsampling=0, quality=90)
        elif sample.name.endswith(".webp"):
            Image.new("RGBA", size, (40, 120, 200, 255)).save(path, "WEBP", lossless=True, method=0)
        else:
            Image.new("P", size, 3).save(path, "GIF")


def _status() -> dict[str, int]:
    fields = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0]) * 1024
    return fields


def _probe(path: Path, threads: int) -> dict[str, Any]:
    """Process the upload at `path` (`threads` copies at once) and report the peak RSS growth."""
    from django.core.exceptions import ValidationError
    from django.core.files.uploadedfile import SimpleUploadedFile

    from accounts.avatars import process_avatar

    def upload(data: bytes) -> SimpleUploadedFile:
        return SimpleUploadedFile(path.name, data, content_type="application/octet-stream")

    warm = io.BytesIO()
    from PIL import Image

    Image.new("RGB", (64, 64), "red").save(warm, "PNG")
    process_avatar(upload(warm.getvalue()))  # imports, codec set-up: not the upload's cost
    data = path.read_bytes()
    outcomes: list[str] = []
    start = threading.Barrier(threads)

    def one() -> None:
        start.wait()
        try:
            stored = process_avatar(upload(data))
            outcomes.append(f"stored ({stored.size:,} B WebP)")
        except ValidationError as refused:
            outcomes.append("refused: " + " ".join(refused.messages))

    try:
        Path("/proc/self/clear_refs").write_text("5")  # peak RSS := current RSS
        peak_reset = True
    except OSError:
        peak_reset = False  # older kernels: the peak since start-up, an overestimate
    before = _status()["VmRSS"]
    started = time.perf_counter()
    workers = [threading.Thread(target=one) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return {
        "grown": _status()["VmHWM"] - before,
        "seconds": time.perf_counter() - started,
        "outcomes": sorted(set(outcomes), key=outcomes.index),
        "counts": {outcome: outcomes.count(outcome) for outcome in set(outcomes)},
        "peak_reset": peak_reset,
    }


def _child(*args: str) -> str:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "tweethub.settings")}
    done = subprocess.run(
        [sys.executable, "-m", "bench.avatar", *args], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"bench.avatar {' '.join(args)} failed: {done.stderr.strip()[-2000:]}")
    return done.stdout


def _measure(path: Path, threads: int = 1) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(_child("probe", str(path), str(threads)))
    return result


def _mib(size: float) -> float:
    return size / 2**20


def figures(ctx: Context) -> list[Figure]:
    from django.conf import settings

    limit = settings.AVATAR_MAX_PIXELS
    baseline_sample, *at_limit, review = samples(limit)
    with tempfile.TemporaryDirectory(prefix="bench-avatar-") as name:
        folder = Path(name)
        ctx.say(f"memory: writing avatar uploads at the {limit / 1e6:g}-megapixel limit")
        _child("make", str(folder), str(limit))
        sizes = {sample.name: (folder / sample.name).stat().st_size for sample in (baseline_sample, *at_limit, review)}
        ctx.say("memory: processing each avatar upload in a fresh process")
        baseline = _measure(folder / baseline_sample.name)
        measured = {sample.name: _measure(folder / sample.name) for sample in (*at_limit, review)}
        stored = [sample for sample in at_limit if measured[sample.name]["outcomes"][0].startswith("stored")]
        worst = max(stored, key=lambda sample: measured[sample.name]["grown"], default=None)
        ctx.say(f"memory: {CONCURRENT} avatar uploads at once in one process")
        crowd = _measure(folder / worst.name, CONCURRENT) if worst else None

    def figure(sample: Sample, name: str) -> Figure:
        result = measured[sample.name]
        return Figure(
            "memory",
            name,
            _mib(result["grown"]),
            "MiB",
            baseline=_mib(baseline["grown"]),
            baseline_name="the same for a 400x400 RGB PNG",
            notes=f"{sample.width}x{sample.height} ({sample.width * sample.height / 1e6:.1f} Mpx), "
            f"{sizes[sample.name]:,} B: {'; '.join(result['outcomes'])}, {result['seconds']:.2f} s",
            extra={**result, "bytes": sizes[sample.name], "pixel_limit": limit},
        )

    results = [
        figure(sample, f"avatar upload, {sample.label} at the pixel limit: peak RSS growth") for sample in at_limit
    ]
    results.append(figure(review, "avatar upload, the review's 40 Mpx PNG: peak RSS growth"))
    if worst is not None and crowd is not None:
        results.append(figure(worst, f"avatar upload, worst case allowed ({worst.label}): peak RSS growth"))
        counts = ", ".join(f"{count} {outcome}" for outcome, count in crowd["counts"].items())
        results.append(
            Figure(
                "memory",
                f"avatar upload, {CONCURRENT} of the worst case at once in one process: peak RSS growth",
                _mib(crowd["grown"]),
                "MiB",
                baseline=_mib(measured[worst.name]["grown"]),
                baseline_name="one such upload alone",
                notes=f"{counts}, {crowd['seconds']:.2f} s",
                extra=crowd,
            )
        )
    return results


def main(argv: list[str]) -> None:
    command, *args = argv
    if command == "make":
        _make(Path(args[0]), int(args[1]))
    elif command == "probe":
        print(json.dumps(_probe(Path(args[0]), int(args[1]))))
    else:
        raise SystemExit(f"unknown command {command!r}")


if __name__ == "__main__":
    main(sys.argv[1:])
