"""What the seed generators share: constants, reports, the progress meter."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

# Re-exported for the seed modules: the demo login is defined where the pages that show it read it.
from accounts.demo import DEMO_PASSWORD as DEMO_PASSWORD
from accounts.demo import DEMO_USERNAME as DEMO_USERNAME
from tweethub.ids import EPOCH

Progress = Callable[[str], None]

# Every account seed_graph makes shares this password (hashed once: hashing 100K passwords would
# take hours), so load tests can log in through the real login form. seed_data refuses to run on a
# site without DEMO_MODE (DEBUG does not count), so no real site gets 100K accounts with a published password.
SEED_PASSWORD = "seeded-account-password"  # noqa: S105 - published on purpose, see above
SEED_EMAIL_DOMAIN = "seed.tweethub.test"  # .test is reserved: these addresses reach nobody
DEMO_EMAIL_DOMAIN = "demo.tweethub.test"
# Serialises seed_demo between processes (two `make run` sharing one dev stack).
DEMO_LOCK = (7302, 1)

# Seed times are integers of microseconds (exact, unlike float seconds); these are the units.
SECOND_US = 1_000_000
HOUR_US = 3600 * SECOND_US
DAY_US = 24 * HOUR_US
# The id epoch (tweethub.ids.EPOCH) in microseconds since 1970.
EPOCH_US = (EPOCH - datetime(1970, 1, 1, tzinfo=EPOCH.tzinfo)) // timedelta(microseconds=1)


class SeedError(Exception):
    """The request cannot be met (bad sizes, no free username prefix, no one active to tweet):
    raised before anything is written. (Except more than 4096 tweets in one millisecond, found
    while loading tweets: users and follows are then already in.)"""


@dataclass
class SeedReport:
    users: int
    follows: int
    tweets: int
    feeds: int
    active_user_ids: list[int]  # users with last_active within ACTIVE_DAYS (they get feeds)
    seconds: dict[str, float]  # per phase: "users", "follows", "tweets", "stats", "feeds", "geo", "total"
    username_prefix: str = ""  # the prefix used (a fresh one if the requested one was taken)
    user_ids: list[int] = field(default_factory=list)  # every seeded account, in username order


@dataclass
class DemoReport:
    seeded: bool
    message: str  # what happened, or why nothing was done
    users: int = 0
    follows: int = 0
    tweets: int = 0
    feeds: int = 0
    username: str = ""  # the demo login ("" when nothing was seeded and no demo account exists)
    password: str = ""
    seconds: dict[str, float] = field(default_factory=dict)


def quiet(line: str) -> None:
    """The progress callback of a caller that asked for none."""


class Meter:
    """Progress of one phase: a line every 5% of `total` (bar, count, rate, elapsed; at most two a
    second), and a final line. Every line starts with the phase name, so a terminal can redraw
    them in place."""

    STEPS = 20

    def __init__(self, phase: str, total: int, say: Progress, unit: str) -> None:
        self.phase, self.total, self.say, self.unit = phase, max(total, 0), say, unit
        self.started = self.said_at = time.perf_counter()
        self.done_count = 0
        self.next_step = 1

    def _line(self, done: int) -> str:
        fraction = done / self.total if self.total else 1.0
        filled = round(fraction * 24)
        elapsed = time.perf_counter() - self.started
        rate = done / elapsed if elapsed > 0 else 0.0
        return (
            f"{self.phase:<8} [{'#' * filled}{'.' * (24 - filled)}] {fraction:4.0%} "
            f"{done:>11,}/{self.total:,} {self.unit}  {rate:>9,.0f}/s  {elapsed:6.1f}s"
        )

    def start(self) -> None:
        """Say the phase began (for a phase that cannot report its progress)."""
        self.say(self._line(0))

    def advance(self, count: int = 1) -> None:
        self.done_count += count
        if self.total and self.done_count * self.STEPS >= self.next_step * self.total:
            self.next_step = self.done_count * self.STEPS // self.total + 1
            now = time.perf_counter()
            # A phase over in a blink gets its final line only.
            if self.done_count < self.total and now - self.said_at >= 0.5:
                self.said_at = now
                self.say(self._line(self.done_count))

    def finish(self, note: str = "") -> float:
        elapsed = time.perf_counter() - self.started
        self.say(self._line(self.total) + (f"  {note}" if note else ""))
        return elapsed
