"""Measurements of the running system for the admin panel's live figures.

Fan-out latency is measured where it ends: the worker records, per tweet, the milliseconds from
the tweet's commit (its created_at, set inside the writing transaction) to the last feed write.
Samples go into per-minute Redis lists kept two hours; losing them loses history only.

Tweets per hour are not recorded: they are counted in Postgres, the tweets' own table
(tweets.selectors.tweets_per_hour), so tweets posted before the site last started count too (a
Redis counter per hour knew only of tweets posted since it started counting, and lost them with
Redis).
"""

from __future__ import annotations

import logging
import math
import time
from datetime import datetime
from typing import cast

import redis

from tweethub.redis import Role, counters
from tweethub.rediskeys import KeyFamily

logger = logging.getLogger(__name__)

_FANOUT = "metrics:fanout:{minute}"
# Samples are kept this long: the admin panel's charts show the last hour.
_KEEP_SECONDS = 2 * 3600

REDIS_KEYS = (
    KeyFamily(
        key="metrics:fanout:<minute>",
        role=Role.COUNTERS,
        holds='fan-out samples "latency_ms:recipients" (kept 2 h)',
        rebuilt_by="history only; counting restarts",
    ),
)


def record_fanout(*, created_at: datetime, recipients: int) -> None:
    """One fan-out finished now: store its commit-to-last-write latency in ms."""
    latency_ms = max(0.0, (time.time() - created_at.timestamp()) * 1000)
    minute = int(time.time() // 60)
    try:
        pipe = counters().pipeline(transaction=False)
        pipe.rpush(_FANOUT.format(minute=minute), f"{latency_ms:.1f}:{recipients}")
        pipe.expire(_FANOUT.format(minute=minute), _KEEP_SECONDS)
        pipe.execute()
    except redis.RedisError:
        logger.warning("fan-out latency not recorded", exc_info=True)


def fanout_latencies_by_minute(*, minutes: int = 60, now: float | None = None) -> list[tuple[int, list[float]]]:
    """(minute since the epoch, latency samples in ms) for each of the last `minutes` minutes up to
    `now`, oldest first, in one round trip."""
    current = int((time.time() if now is None else now) // 60)
    wanted = list(range(current - minutes + 1, current + 1))
    pipe = counters().pipeline(transaction=False)
    for minute in wanted:
        pipe.lrange(_FANOUT.format(minute=minute), 0, -1)
    per_minute = cast(list[list[bytes]], pipe.execute())
    return [
        (minute, [float(value.split(b":")[0]) for value in values])
        for minute, values in zip(wanted, per_minute, strict=True)
    ]


def fanout_latencies(*, minutes: int = 60) -> list[float]:
    """Latency samples (ms) of the fan-outs finished in the last `minutes`."""
    return [sample for _, samples in fanout_latencies_by_minute(minutes=minutes) for sample in samples]


def percentile(samples: list[float], share: float) -> float | None:
    """The `share` (0..1) percentile by nearest rank; None without samples."""
    if not samples:
        return None
    ordered = sorted(samples)
    rank = max(0, min(len(ordered) - 1, math.ceil(share * len(ordered)) - 1))
    return ordered[rank]


def fanout_samples(*, minutes: int = 120) -> list[tuple[float, int]]:
    """Every fan-out sample of the last `minutes` as (latency ms, recipients), oldest minute first
    and in the order recorded within a minute (the benchmark tells small fan-outs from a large
    one's chunks by their recipients)."""
    current = int(time.time() // 60)
    pipe = counters().pipeline(transaction=False)
    for minute in range(current - minutes + 1, current + 1):
        pipe.lrange(_FANOUT.format(minute=minute), 0, -1)
    per_minute = cast(list[list[bytes]], pipe.execute())
    samples = []
    for values in per_minute:
        for value in values:
            latency, _, recipients = value.partition(b":")
            samples.append((float(latency), int(recipients or 0)))
    return samples
