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
    # "value/baseline" (default), or "baseline/value" where the target is a speed-up over the
    # baseline ("SQL p99 / feed p99 >= 10"), so the table shows the number the target is about.
    ratio_kind: str = "value/baseline"
    margin: str = ""  # how far from the target: "met with 2.1x to spare", "missed by 24 ms (5.8x over)"

    @property
    def ratio(self) -> float | None:
        """value / baseline, or baseline / value when ratio_kind says so (NaN-safe: None)."""
        top, bottom = (
            (self.value, self.baseline) if self.ratio_kind == "value/baseline" else (self.baseline, self.value)
        )
        if top is None or bottom in (None, 0) or top != top or bottom != bottom:
            return None
        assert bottom is not None
        return top / bottom

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ratio": self.ratio}


@dataclass(frozen=True)
class Target:
    """A goal on one quantity of a figure (its value or its ratio): `op` is ">=" or "<="."""

    op: str
    goal: float
    unit: str = ""  # "x" for ratios, "ms", "queries", ...

    @property
    def text(self) -> str:
        return f"{self.op} {_num(self.goal)}{self.unit if self.unit == 'x' else ' ' + self.unit}".strip()

    def check(self, actual: float | None) -> tuple[bool | None, str]:
        """(met, margin in words); (None, "not measured") when there is nothing to compare."""
        if actual is None or actual != actual:
            return None, "not measured"
        unit = self.unit if self.unit == "x" else f" {self.unit}".rstrip()
        met = actual >= self.goal if self.op == ">=" else actual <= self.goal
        gap = abs(actual - self.goal)
        if self.goal and actual:
            factor = actual / self.goal if self.op == "<=" else self.goal / actual
            times = f" ({factor:.1f}x {'over' if self.op == '<=' else 'short'})" if not met else ""
        else:
            times = ""
        if met:
            return True, f"met ({_num(actual)}{unit}, {_num(gap)}{unit} to spare)"
        return False, f"missed by {_num(gap)}{unit}{times}"


def _num(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}".rstrip("0").rstrip(".")


def aim(figure: Figure, target: Target, *, on: str = "ratio") -> Figure:
    """Give `figure` the target (on its ratio or its value), with met and the margin filled in."""
    met, margin = target.check(figure.ratio if on == "ratio" else figure.value)
    label = ("ratio " if on == "ratio" else "") + target.text
    figure.target, figure.met, figure.margin = label, met, margin
    return figure


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
    read_followings: tuple[int, ...]  # followee counts of the feed-read users (issue 15: 50, 1K, 5K)
    read_repeat: int  # timed feed reads per user and path
    cold_repeat: int  # feed reads per user with its page's row-cache keys dropped first
    page_followings: tuple[int, ...]  # followee counts of the readers whose GET / is counted in-process
    memory_users: int  # active users whose first page read is weighed in Redis used_memory
    http_seconds: float  # load duration per server, view and concurrency level
    http_connections: tuple[int, ...]  # concurrency levels (the Procfile's server runs them all)
    cpu_requests: tuple[int, int]  # fixed request counts (home, /livez) for the CPU-per-request figures
    websockets: int  # connected followers in the realtime section
    realtime_tweets: int  # tweets posted in the realtime section
    discover_users: int  # sampled accounts (and sharers) in the discover section
    discover_repeat: int  # timed reads per sampled account, query and path
    # Section "live" (issue 19): web process counts the websockets are spread over, recipient counts
    # whose Redis cost per event is counted, and events counted per (processes, recipients) pair.
    live_processes: tuple[int, ...] = (2, 4)
    live_recipients: tuple[int, ...] = (10, 10_000)
    live_events: int = 20


# The feed-read followee counts and the two concurrency levels are the ones issue 15 sets targets at.
FULL = Scale(
    "full", users=100_000, avg_follows=50, tweets=1_000_000, fanout_followers=(1_000, 10_000, 100_000),
    read_followings=(50, 1_000, 5_000), read_repeat=300, cold_repeat=20, page_followings=(50, 1_000),
    memory_users=1_000, http_seconds=8.0, http_connections=(16, 64), cpu_requests=(600, 3_000),
    websockets=1_000, realtime_tweets=20, discover_users=200, discover_repeat=3,
)  # fmt: skip
QUICK = Scale(
    "quick", users=5_000, avg_follows=20, tweets=50_000, fanout_followers=(100, 1_000, 4_000),
    read_followings=(50, 1_000, 5_000), read_repeat=100, cold_repeat=10, page_followings=(50, 1_000),
    memory_users=300, http_seconds=2.0, http_connections=(16, 64), cpu_requests=(200, 1_000),
    websockets=200, realtime_tweets=5, discover_users=60, discover_repeat=3, live_events=5,
)  # fmt: skip
TINY = Scale(
    "tiny", users=300, avg_follows=5, tweets=2_000, fanout_followers=(10, 50), read_followings=(5, 50),
    read_repeat=3, cold_repeat=2, page_followings=(5,), memory_users=20, http_seconds=0.5, http_connections=(2, 4),
    cpu_requests=(30, 60), websockets=5, realtime_tweets=2, discover_users=10, discover_repeat=1,
    live_processes=(2,), live_recipients=(10, 100), live_events=2,
)  # fmt: skip
SCALES = {scale.name: scale for scale in (FULL, QUICK, TINY)}


@dataclass
class Context:
    scale: Scale
    say: Progress
    port: int = 8765  # base TCP port on 127.0.0.1 for servers the sections start
    servers: tuple[str, ...] = ("uvicorn", "granian", "daphne", "gunicorn")  # ASGI servers to compare
