"""What every benchmark section shares: the Figure it reports and the helpers to time things.

A figure always stands beside a baseline measured in the same run on the same servers, because
these machines are shared and noisy: absolute numbers drift between runs, ratios much less.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Figure:
    section: str  # "fanout", "feed_read", "http", "realtime", "memory", "seed", "discover"
    name: str  # what was measured, e.g. "10K active followers: inserts/s"
    value: float
    unit: str  # "inserts/s", "ms", "req/s", "bytes", "MiB"
    baseline: float | None = None  # the same quantity for the baseline, same run
    baseline_name: str = ""  # what the baseline is, e.g. "redis-py pipelined ZADD"
    target: str = ""  # the goal in words, e.g. ">= 50% of baseline"; "" when there is none
    met: bool | None = None  # None: no target
    notes: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        """value / baseline (for latencies a ratio below 1 means faster than the baseline)."""
        if self.baseline in (None, 0):
            return None
        assert self.baseline is not None
        return self.value / self.baseline

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ratio": self.ratio}


def percentile(samples: Iterable[float], pct: float) -> float:
    """Nearest-rank percentile (pct in 0..100) of the samples; NaN when there are none."""
    ordered = sorted(samples)
    if not ordered:
        return math.nan
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def timed_ms(function: Callable[[], object], *, repeat: int, warmup: int = 3) -> list[float]:
    """Run `function` warmup + repeat times; the wall time of the last `repeat` runs, in ms."""
    for _ in range(warmup):
        function()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


class Progress:
    """One line per step on stderr, so a long run shows where it is (and the JSON stays clean)."""

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self.started = time.monotonic()

    def __call__(self, message: str) -> None:
        if self.enabled:
            print(f"[{time.monotonic() - self.started:7.1f}s] {message}", file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Scale:
    """Sizes for one run: `make bench` uses FULL, `make bench-quick` and the smoke test smaller ones."""

    name: str
    users: int
    avg_follows: int
    tweets: int
    fanout_followers: tuple[int, ...]  # active-follower counts of the fan-out authors
    read_followings: tuple[int, ...]  # followee counts of the feed-read users
    read_repeat: int  # timed feed reads per user and path
    http_seconds: float  # load duration per server and view
    http_connections: int
    websockets: int  # connected followers in the realtime section
    realtime_tweets: int  # tweets posted in the realtime section
    discover_users: int  # sampled accounts (and sharers) in the discover section
    discover_repeat: int  # timed reads per sampled account, query and path


FULL = Scale(
    "full", 100_000, 50, 1_000_000, (1_000, 10_000, 100_000), (10, 100, 1_000, 5_000), 200, 10.0, 32, 1_000, 20, 200, 3
)
QUICK = Scale("quick", 5_000, 20, 50_000, (100, 1_000, 4_000), (10, 100, 1_000), 50, 3.0, 16, 200, 5, 60, 3)
TINY = Scale("tiny", 300, 5, 2_000, (10, 50), (5, 20), 3, 0.5, 4, 5, 2, 10, 1)
SCALES = {scale.name: scale for scale in (FULL, QUICK, TINY)}


@dataclass
class Context:
    scale: Scale
    say: Progress
    port: int = 8765  # base TCP port on 127.0.0.1 for servers the sections start
    servers: tuple[str, ...] = ("uvicorn", "granian", "daphne", "gunicorn")  # ASGI servers to compare
