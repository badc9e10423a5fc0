"""Pacing of feed and author-list rebuilds (REBUILD_RATE_LIMIT), for the rebuild tasks.

After a Redis flush every reader's next page queues a rebuild (timelines.views): tens of thousands
at once on a big site. They run on their own queue and worker (tweethub.queues), so a new tweet's
fan-out never waits behind them in a queue; the limit also bounds the CPU and Postgres time they
take from it on shared machines, over all rebuild workers together. Readers get SQL pages meanwhile.

Celery's own `rate_limit` was measured first and not kept: it is per worker, not global, and with
the solo pool (the tests' workers, a one-CPU container) its timer only ran between broker polls:
5 rebuilds/s under a limit of 100/s, against 110/s without it.
"""

from __future__ import annotations

import time

from django.conf import settings

from tweethub import ratelimit


def rebuild_slot_wait(*, max_wait_seconds: float = 30.0) -> float:
    """Wait until a rebuild may start under REBUILD_RATE_LIMIT (all workers together: one sliding
    window in the counters Redis), then count it. Returns the seconds waited. Gives up waiting after
    `max_wait_seconds` (the rebuild then runs: a limit must not strand a reader's feed for good),
    and never waits when Redis cannot count (the rebuild fails on Redis anyway)."""
    if not settings.REBUILD_RATE_LIMIT:
        return 0.0
    rate = ratelimit.rate_setting("REBUILD_RATE_LIMIT")
    started = time.monotonic()
    waited = 0.0
    while waited < max_wait_seconds and ratelimit.over(scope="rebuild", key="all", rate=rate):
        # A share of a window's slot: the next one frees within it (the window slides).
        time.sleep(rate.seconds / rate.count)
        waited = time.monotonic() - started
    ratelimit.record(scope="rebuild", key="all", rate=rate)
    return waited
