"""The admin panel's live figures and technology versions, and who may see which.

Every figure is read from the running system, never estimated:

- counts come from Postgres (`COUNT(*)`: exact, and cheap at demo sizes; a large deployment would
  keep counters instead);
- feeds are counted by SCANning `tlf:{*` (a feed exists exactly when its floor key does, see
  timelines.store). SCAN walks the whole keyspace in steps of FEED_SCAN_COUNT keys, so it costs
  O(all keys) per call but never blocks Redis for long; the panel caches the result for
  FIGURES_CACHE_SECONDS so many open browsers cost one scan. Feed memory is MEMORY USAGE of each
  feed's two keys, pipelined, up to FEED_MEMORY_LIMIT feeds; past that the JSON says
  `"memory_sampled": true` and gives the sum over the feeds measured plus the per-feed mean;
- the Celery queue depth is LLEN of the broker's `celery` list (and its priority lists);
- fan-out latency (commit to last feed write) and tweets per hour come from tweethub.metrics,
  which the worker and tweet_create record as they run;
- open websockets come from tweethub.presence.

Visibility rule (DEMO_MODE on): aggregates are public because they describe the system, not a
person: counts, memory, queue depth, latency percentiles, tweets per hour, socket count, service
versions. Anything naming a person or a machine is staff-only: usernames (the newest accounts),
worker host names. Outside DEMO_MODE the whole panel is staff-only (404 for everyone else).
Mail is never shown here: the inbox at /admin/mails/ applies its own rules (mailcatcher.access).
"""

from __future__ import annotations

import importlib.metadata
import logging
import platform
import time
from collections.abc import Iterator
from typing import Any, TypedDict, cast
from urllib.parse import parse_qs, urlencode, urlsplit

import django
import redis
from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.core.cache import cache

from accounts.models import User
from follows.models import Follow
from tweethub import metrics, presence
from tweethub.celery import app as celery_app
from tweethub.health import run_checks
from tweethub.redis import client_for, feeds
from tweets.models import Tweet

logger = logging.getLogger(__name__)

# Seconds the public figures are cached in Redis: browsers poll every 3 s, and however many are open,
# the SCAN and the counts run at most once per this period.
FIGURES_CACHE_SECONDS = 2
FIGURES_CACHE_KEY = "adminpanel:figures"
# SCAN COUNT hint: keys Redis examines per call.
FEED_SCAN_COUNT = 1000
# Feeds whose memory is measured one by one; beyond this the figure is marked as sampled.
FEED_MEMORY_LIMIT = 20_000
# Fan-out latency chart: buckets of this many minutes over the last LATENCY_WINDOW_MINUTES.
LATENCY_BUCKET_MINUTES = 5
LATENCY_WINDOW_MINUTES = 60
TWEETS_PER_HOUR_HOURS = 24
# kombu's Redis transport keeps a queue's priorities in separate lists named queue + sep + step.
_BROKER_QUEUE = "celery"
_PRIORITY_SEP = "\x06\x16"
_PRIORITY_STEPS = (3, 6, 9)


# --- Who sees what --------------------------------------------------------------------------------


def is_staff(user: AbstractBaseUser | AnonymousUser) -> bool:
    return bool(user.is_active and getattr(user, "is_staff", False))


def panel_visible(user: AbstractBaseUser | AnonymousUser) -> bool:
    """The explanatory pages and public figures: everyone in DEMO_MODE, else staff only."""
    return is_staff(user) or bool(settings.DEMO_MODE)


# --- Figures --------------------------------------------------------------------------------------


class LatencyBucket(TypedDict):
    start: int  # unix timestamp of the bucket's first minute
    samples: int
    p50: float | None
    p95: float | None
    p99: float | None


def _scan_feed_users(client: redis.Redis) -> Iterator[bytes]:
    for key in client.scan_iter(match="tlf:{*", count=FEED_SCAN_COUNT):
        yield cast(bytes, key)[len(b"tlf:") :]


def feed_figures() -> dict[str, Any]:
    """Number of home feeds in Redis and the memory their keys take (bytes)."""
    client = feeds()
    tags = list(_scan_feed_users(client))
    measured = tags[:FEED_MEMORY_LIMIT]
    pipe = client.pipeline(transaction=False)
    for tag in measured:
        pipe.memory_usage(b"tl:" + tag)
        pipe.memory_usage(b"tlf:" + tag)
    memory = sum(int(value or 0) for value in pipe.execute()) if measured else 0
    info = client.info("memory")
    return {
        "count": len(tags),
        "memory_bytes": memory,
        "memory_per_feed": round(memory / len(measured)) if measured else None,
        "memory_sampled": len(tags) > len(measured),
        "redis_used_memory": int(info.get("used_memory", 0)),
    }


def broker_client() -> redis.Redis:
    """A redis-py client for the Celery broker: kombu spells unix sockets redis+socket://."""
    url = settings.CELERY_BROKER_URL
    parts = urlsplit(url)
    if parts.scheme == "redis+socket":
        query = {key: values[0] for key, values in parse_qs(parts.query).items()}
        db = query.pop("virtual_host", "0")
        url = f"unix://{parts.path}?{urlencode({'db': db, **query})}"
    return client_for(url)


def queue_depth() -> int:
    """Tasks waiting in the broker (not the ones a worker already took)."""
    pipe = broker_client().pipeline(transaction=False)
    pipe.llen(_BROKER_QUEUE)
    for step in _PRIORITY_STEPS:
        pipe.llen(f"{_BROKER_QUEUE}{_PRIORITY_SEP}{step}")
    return sum(int(value) for value in pipe.execute())


def latency_buckets(*, now: float | None = None) -> list[LatencyBucket]:
    """p50/p95/p99 fan-out latency (ms) per LATENCY_BUCKET_MINUTES over the last hour, oldest first.

    Reads the per-minute sample lists tweethub.metrics writes (its key format, read-only).
    """
    current = int((now or time.time()) // 60)
    minutes = list(range(current - LATENCY_WINDOW_MINUTES + 1, current + 1))
    pipe = feeds().pipeline(transaction=False)
    for minute in minutes:
        pipe.lrange(metrics._FANOUT.format(minute=minute), 0, -1)
    per_minute = cast(list[list[bytes]], pipe.execute())
    buckets: list[LatencyBucket] = []
    for first in range(0, len(minutes), LATENCY_BUCKET_MINUTES):
        samples = [
            float(value.split(b":")[0])
            for values in per_minute[first : first + LATENCY_BUCKET_MINUTES]
            for value in values
        ]
        buckets.append(
            {
                "start": minutes[first] * 60,
                "samples": len(samples),
                "p50": metrics.percentile(samples, 0.50),
                "p95": metrics.percentile(samples, 0.95),
                "p99": metrics.percentile(samples, 0.99),
            }
        )
    return buckets


def public_figures() -> dict[str, Any]:
    """Aggregate figures safe to show anyone who may open the panel (no names, no ids)."""
    samples = metrics.fanout_latencies(minutes=LATENCY_WINDOW_MINUTES)
    return {
        "generated_at": time.time(),
        "users": User.objects.count(),
        "tweets": Tweet.objects.count(),
        "follows": Follow.objects.count(),
        "feeds": feed_figures(),
        "queue_depth": queue_depth(),
        "open_sockets": presence.open_sockets(),
        "fanout": {
            "samples": len(samples),
            "p50": metrics.percentile(samples, 0.50),
            "p95": metrics.percentile(samples, 0.95),
            "p99": metrics.percentile(samples, 0.99),
            "buckets": latency_buckets(),
        },
        "tweets_per_hour": [
            {"start": start, "count": count} for start, count in metrics.tweets_per_hour(hours=TWEETS_PER_HOUR_HOURS)
        ],
    }


def cached_public_figures() -> dict[str, Any]:
    """public_figures(), computed at most once per FIGURES_CACHE_SECONDS across all web processes.
    Redis down: computed directly (the counts still come from Postgres, feed figures fail loudly)."""
    try:
        cached = cache.get(FIGURES_CACHE_KEY)
    except redis.RedisError:
        cached = None
    if isinstance(cached, dict):
        return cached
    figures = public_figures()
    try:
        cache.set(FIGURES_CACHE_KEY, figures, FIGURES_CACHE_SECONDS)
    except redis.RedisError:
        # Serving fresh figures is fine; the next request computes them again.
        logger.warning("admin panel figures not cached", exc_info=True)
    return figures


# --- Technology -----------------------------------------------------------------------------------


class Technology(TypedDict):
    name: str
    role: str
    version: str
    ok: bool


def _package(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def workers_online() -> list[str]:
    """Host names of every Celery worker answering a ping within a second (all replies, not one)."""
    replies = celery_app.control.ping(timeout=1.0) or []
    return sorted(name for reply in replies for name in reply)


def technology() -> tuple[list[Technology], list[str]]:
    """The stack, with versions read from the running services, and the online workers' names
    (staff-only: host names). Costs a health check (up to ~1 s when no worker answers)."""
    checks = {check.name: check for check in run_checks().checks}
    workers = workers_online() if checks["broker"].ok else []
    redis_check = checks["redis"]
    rows: list[Technology] = [
        {"name": "Python", "role": "runs everything below", "version": platform.python_version(), "ok": True},
        {
            "name": "Django",
            "role": "pages, forms, sessions, ORM",
            "version": django.get_version(),
            "ok": True,
        },
        {
            "name": "uvicorn",
            "role": "ASGI server: HTTP and websockets in one process",
            "version": _package("uvicorn"),
            "ok": True,
        },
        {
            "name": "PostgreSQL",
            "role": "the single source of truth: users, tweets, follows, messages, mail",
            "version": checks["postgres"].detail.removeprefix("PostgreSQL "),
            "ok": checks["postgres"].ok,
        },
        {
            "name": "Redis",
            "role": "home feeds, counters, trends, cache, Celery broker, channel layer: all rebuildable",
            "version": redis_check.detail,
            "ok": redis_check.ok,
        },
        {
            "name": "Celery",
            "role": "fan-out, backfills, rebuilds, mail, the nightly purge",
            "version": f"{_package('celery')}, {len(workers)} worker{'s' if len(workers) != 1 else ''} online",
            "ok": checks["broker"].ok and bool(workers),
        },
        {
            "name": "Django Channels",
            "role": "websockets; one Redis PUBLISH per live event reaches every web process",
            "version": f"channels {_package('channels')}",
            "ok": redis_check.ok,
        },
    ]
    return rows, workers
