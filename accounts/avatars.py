"""Avatar uploads: accept real images only, and store our own re-encoding of them.

Re-encoding (rather than storing the upload) drops metadata such as GPS EXIF tags, neutralises
files that are images and something else at once, and bounds the size of what we serve.

Memory (issue 17): a small file can declare a huge canvas, and decoding it costs memory in
proportion to the canvas, not to the file. So the canvas is read from the header (Image.open parses
only that) and refused over AVATAR_MAX_PIXELS before anything is decoded; JPEGs are decoded
already scaled down by libjpeg (`draft`, 1/2 to 1/8); the decoded image is then cropped, converted
and reduced strip by strip, so that no second full-size copy ever exists beside it; and each web
process decodes at most AVATAR_DECODE_CONCURRENCY uploads at a time. Figures: `make bench`
(section memory, bench/avatar.py) and docs/architecture.md.
"""

from __future__ import annotations

import io
import math
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from PIL import ExifTags, Image, UnidentifiedImageError

# MPO is how Pillow names the JPEGs phones write with a second picture inside (depth, preview): to
# the person uploading it is a JPEG, and its first picture is one.
ACCEPTED_FORMATS = {"JPEG", "MPO", "PNG", "GIF", "WEBP"}
# Only these decoders are tried on an upload (no EPS, PSD, ... parsers on untrusted bytes).
_OPENERS = ("JPEG", "PNG", "GIF", "WEBP")
# Pixels per strip when cropping, converting and reducing the decoded image: 1 Mpx is 4 MB in RGBA.
STRIP_PIXELS = 1 << 20
_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_ALPHA_MODES = {"RGBA", "LA", "PA", "RGBa", "La"}

_slots_lock = threading.Lock()
_slots: dict[int, threading.BoundedSemaphore] = {}


def _decode_slots() -> threading.BoundedSemaphore:
    """This process's semaphore of AVATAR_DECODE_CONCURRENCY decode slots (one per value, so a
    changed setting in tests gets its own)."""
    count = settings.AVATAR_DECODE_CONCURRENCY
    with _slots_lock:
        if count not in _slots:
            _slots[count] = threading.BoundedSemaphore(count)
        return _slots[count]


@contextmanager
def decode_slot() -> Iterator[None]:
    """Hold one of this process's decode slots, waiting up to AVATAR_DECODE_WAIT_SECONDS for it;
    ValidationError (nothing decoded) when none frees up in time."""
    slots = _decode_slots()
    if not slots.acquire(timeout=settings.AVATAR_DECODE_WAIT_SECONDS):
        raise ValidationError(
            "We are busy processing other pictures. Please try again in a moment.",
            code="busy",
        )
    try:
        yield
    finally:
        slots.release()


def _too_many_pixels() -> ValidationError:
    limit = settings.AVATAR_MAX_PIXELS
    width, height = math.isqrt(limit * 4 // 3), math.isqrt(limit * 3 // 4)
    return ValidationError(
        f"The image's dimensions are too large: at most {limit / 1e6:g} megapixels "
        f"(for example {width:,} x {height:,}). Please upload a smaller picture.",
        code="too_many_pixels",
    )


def _shrunk_square(image: Image.Image, *, side: int, mode: str) -> Image.Image:
    """The centred square of the decoded `image` in `mode`, reduced by a whole factor to at least
    twice `side` (a good start for the final resampling), made strip by strip: besides the decoded
    image only one strip and the small result exist at any time, whatever the modes involved."""
    width, height = image.size
    edge = min(width, height)
    left, top = (width - edge) // 2, (height - edge) // 2
    factor = max(1, edge // (2 * side))
    rows = factor * max(1, STRIP_PIXELS // (edge * factor))  # a multiple of the factor
    square = Image.new(mode, (math.ceil(edge / factor),) * 2)
    for y in range(0, edge, rows):
        strip = image.crop((left, top + y, left + edge, top + min(y + rows, edge))).convert(mode)
        # reduce() averages RGBA premultiplied, so transparent pixels leave no fringe.
        square.paste(strip.reduce(factor), (0, y // factor))
    return square


def _reencode(data: bytes) -> bytes:
    """Decode `data` (known to hold an accepted format within the pixel limit) into the stored WebP."""
    side = settings.AVATAR_SIZE
    with Image.open(io.BytesIO(data), formats=_OPENERS) as image:
        image.seek(0)  # first frame of an animation
        if image.format in {"JPEG", "MPO"}:
            image.draft(None, (side, side))  # libjpeg decodes at 1/2..1/8 scale, still >= side
        image.load()
        orientation = image.getexif().get(ExifTags.Base.Orientation, 1)
        alpha = image.mode in _ALPHA_MODES or "transparency" in image.info
        square = _shrunk_square(image, side=side, mode="RGBA" if alpha else "RGB")
    if orientation in _TRANSPOSE:
        square = square.transpose(_TRANSPOSE[orientation])
    out = io.BytesIO()
    square.resize((side, side), Image.Resampling.LANCZOS).save(out, format="WEBP", quality=85, method=4)
    return out.getvalue()


def process_avatar(upload: UploadedFile) -> ContentFile[bytes]:
    """A square WebP of AVATAR_SIZE pixels made from `upload`, or ValidationError saying why not.

    The checks that need no decoding (size in bytes, format, dimensions from the header, structure)
    come first; decoding waits for one of this process's decode slots (ValidationError "busy" if
    none frees up in time). Nothing is written anywhere: the caller stores the result.
    """
    if upload.size is None or upload.size > settings.AVATAR_MAX_BYTES:
        limit_mb = settings.AVATAR_MAX_BYTES / (1024 * 1024)
        raise ValidationError(f"The image is too large: the limit is {limit_mb:g} MB.", code="too_large")
    data = upload.read()
    try:
        with warnings.catch_warnings():
            # Pillow only warns between MAX_IMAGE_PIXELS and twice that; we refuse both.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            # Image.open reads the header only: format and canvas size, nothing decoded yet.
            with Image.open(io.BytesIO(data), formats=_OPENERS) as probe:
                if probe.format not in ACCEPTED_FORMATS:
                    raise ValidationError("Please upload a JPEG, PNG, GIF or WebP image.", code="format")
                width, height = probe.size
                if width * height > settings.AVATAR_MAX_PIXELS:
                    raise _too_many_pixels()
                probe.verify()  # structural check (PNG chunk CRCs); the object is unusable afterwards
        with decode_slot():
            encoded = _reencode(data)
    except ValidationError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _too_many_pixels() from None
    except UnidentifiedImageError:
        raise ValidationError(
            "That file is not an image we can read. Please upload a JPEG, PNG, GIF or WebP image.", code="invalid"
        ) from None
    except (OSError, SyntaxError, ValueError, EOFError):
        # Truncated or malformed files surface as any of these from Pillow's decoders.
        raise ValidationError("That image file is damaged or incomplete.", code="invalid") from None
    return ContentFile(encoded, name="avatar.webp")
