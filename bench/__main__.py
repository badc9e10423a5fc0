"""`python -m bench [--scale full|quick|tiny] [--sections ...]`: seed a graph, run the sections,
write bench/results/<timestamp>.json and .md. `make bench` runs it on throwaway servers.

Each figure is printed beside a baseline measured in the same run (see bench/core.py).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import django

from bench import core  # plain Python: safe before django.setup()

SECTIONS = (
    "memory", "feed_read", "page", "discover", "fanout", "fanout_latency", "http", "api", "realtime", "live",
    "postgres",
)  # fmt: skip


def _fmt(value: float | None, unit: str = "") -> str:
    if value is None or value != value:  # None or NaN
        return "-"
    text = f"{value:,.2f}" if unit == "ms" or abs(value) < 10 else f"{value:,.0f}"
    return f"{text} {unit}".strip()


def markdown(results: dict[str, Any]) -> str:
    meta = results["meta"]
    lines = [
        f"# make bench, {meta['started']} ({meta['scale']} scale)",
        "",
        f"Commit {meta['commit']}, {meta['cpus']} CPUs, Python {meta['python']}, "
        f"seeded {meta['seed'].get('users', 0):,} users / {meta['seed'].get('follows', 0):,} follows / "
        f"{meta['seed'].get('tweets', 0):,} tweets in {meta['seed'].get('seconds', {}).get('total', 0):.0f} s. "
        f"Whole run {meta['seconds']:.0f} s.",
        "",
        "Ratios are value / baseline unless the figure says otherwise (feed reads: baseline / value, the",
        "speed-up over SQL). Targets are issue 15's where it sets one.",
        "",
        "| section | figure | value | baseline (same run) | ratio | target | met |",
        "|---|---|---|---|---|---|---|",
    ]
    for figure in results["figures"]:
        baseline = (
            f"{_fmt(figure['baseline'], figure['unit'])} ({figure['baseline_name']})"
            if figure["baseline"] is not None
            else "-"
        )
        ratio = f"{figure['ratio']:.2f}" if figure["ratio"] is not None else "-"
        if figure.get("ratio_kind", "value/baseline") != "value/baseline" and figure["ratio"] is not None:
            ratio += f" ({figure['ratio_kind']})"
        met = {True: "yes", False: "**no**", None: ""}[figure["met"]]
        if figure.get("margin"):
            met += f" <br><sub>{figure['margin']}</sub>"
        name = figure["name"] + (f" <br><sub>{figure['notes']}</sub>" if figure["notes"] else "")
        lines.append(
            f"| {figure['section']} | {name} | {_fmt(figure['value'], figure['unit'])} | {baseline} | {ratio} "
            f"| {figure['target']} | {met} |"
        )
    if results["errors"]:
        lines += ["", "## Sections that failed", ""]
        lines += [f"- {section}: {error}" for section, error in results["errors"].items()]
    return "\n".join(lines) + "\n"


def _commit() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--scale", choices=["full", "quick", "tiny"], default="full")
    parser.add_argument("--sections", nargs="*", choices=SECTIONS, default=list(SECTIONS))
    parser.add_argument(
        "--servers", nargs="*", help="ASGI servers to compare (default: all four at full scale, uvicorn otherwise)"
    )
    parser.add_argument("--out", type=Path, default=Path("bench/results"))
    parser.add_argument("--no-seed", action="store_true", help="use the data already in the database")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tweethub.settings")
    django.setup()
    from django.core.management import call_command

    scale = core.SCALES[args.scale]
    say = core.Progress()
    ctx = core.Context(scale=scale, say=say)
    if args.servers:
        ctx.servers = tuple(args.servers)
    elif scale is not core.FULL:
        ctx.servers = ("uvicorn",)  # the comparison is for `make bench`; bench-quick stays under a minute
    started = time.monotonic()
    started_at = datetime.now(UTC)

    say("migrating")
    call_command("migrate", verbosity=0)
    seed_meta = {} if args.no_seed else _seed(scale, say)
    from bench.data import analyze

    analyze()
    figures, errors = _run_sections(ctx, args.sections)
    results = {
        "meta": {
            "started": started_at.isoformat(timespec="seconds"),
            "scale": scale.name,
            "commit": _commit(),
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "seed": seed_meta,
            "seconds": time.monotonic() - started,
        },
        "figures": [figure.as_dict() for figure in figures],
        "errors": errors,
    }
    _write(results, args.out / started_at.strftime("%Y%m%dT%H%M%SZ"), say)
    return 1 if errors else 0


def _seed(scale: core.Scale, say: core.Progress) -> dict[str, Any]:
    """Seed the graph of this scale; what the results' meta records of it."""
    from adminpanel.seed import seed_graph

    say(f"seeding {scale.users:,} users, ~{scale.users * scale.avg_follows:,} follows, {scale.tweets:,} tweets")
    report = seed_graph(users=scale.users, avg_follows=scale.avg_follows, tweets=scale.tweets, progress=say)
    return {
        "users": report.users,
        "follows": report.follows,
        "tweets": report.tweets,
        "feeds": report.feeds,
        "seconds": report.seconds,
    }


def _run_sections(ctx: core.Context, sections: list[str]) -> tuple[list[core.Figure], dict[str, str]]:
    """(figures of every section that ran, {section: error} of those that failed)."""
    runners: dict[str, Callable[[core.Context], list[core.Figure]]] = {}
    for section in sections:
        runners[section] = importlib.import_module(f"bench.{section}").run
    figures: list[core.Figure] = []
    errors: dict[str, str] = {}
    for section, run in runners.items():
        try:
            figures += run(ctx)
        except Exception as error:  # one broken section must not lose the others' figures
            errors[section] = f"{type(error).__name__}: {error}"
            ctx.say(f"{section} FAILED: {errors[section]}")
    return figures, errors


def _write(results: dict[str, Any], stem: Path, say: core.Progress) -> None:
    """<stem>.json and <stem>.md, and the table on stdout."""
    stem.parent.mkdir(parents=True, exist_ok=True)
    stem.with_suffix(".json").write_text(json.dumps(results, indent=2, default=str) + "\n")
    table = markdown(results)
    stem.with_suffix(".md").write_text(table)
    print(table)
    say(f"wrote {stem}.json and {stem}.md")


if __name__ == "__main__":
    sys.exit(main())
