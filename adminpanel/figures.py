"""The admin panel's live figures and technology versions, and who may see which.

Every figure is read from the running system, never estimated:

- counts come from Postgres (`COUNT(*)`: exact, and cheap at demo sizes; a large deployment would
  keep counters instead);
- feeds are counted by timelines.store's census (a SCAN of the feeds' floor keys: a feed exists
  exactly when its floor does). SCAN walks the whole keyspace in small steps, so it costs
  O(all keys) per call but never blocks Redis for long; the panel caches the result for
  FIGURES_CACHE_SECONDS so many open browsers cost one scan. Feed memory is MEMORY USAGE of each
  feed's two keys, pipelined, up to FEED_MEMORY_LIMIT feeds; past that the JSON says
  `"memory_sampled": true` and gives the sum over the feeds measured plus the per-feed mean;
- the Celery queue depth is the broker's census (tweethub.celery.queue_depth: LLEN of the
  `celery` list and its priority lists);
- fan-out latency (commit to last feed write) comes from tweethub.metrics, which the worker
  records as it runs (read through its public functions, never its keys); tweets per hour are
  counted in Postgres (tweets.selectors.tweets_per_hour: one grouped query over the last day's
  range of the primary key), so tweets posted before the site started count too;
- open websockets come from tweethub.presence;
- service versions are read from Postgres (`SHOW server_version`) and each Redis (`INFO server`)
  with the figures, so they are as fresh as the figures and cost the page nothing on a warm cache;
- workers online are the workers whose heartbeat (adminpanel.tasks.heartbeat_task, queued by beat
  every WORKER_HEARTBEAT_SECONDS, run by a worker into Postgres) is newer than WORKER_ONLINE_SECONDS.
  No page waits for a worker: a Celery ping blocks for its whole timeout to hear every worker
  (it cost each panel load over a second). With no fresh heartbeat the figures ask for one
  (adminpanel.services.heartbeat_request), so a worker started without beat shows up a poll later.

Visibility rule (DEMO_MODE on): aggregates are public because they describe the system, not a
person: counts, memory, queue depth, latency percentiles, tweets per hour, socket count, service
versions. Anything naming a person or a machine is staff-only: usernames (the newest accounts),
worker host names. Outside DEMO_MODE the whole panel is staff-only (404 for everyone else).
Mail is never shown here: the inbox at /admin/mails/ applies its own rules (mailcatcher.access).
"""

from __future__ import annotations

import functools
import importlib.metadata
import logging
import platform
import time
from datetime import timedelta
from typing import Any, TypedDict

import django
import redis
from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.core.cache import cache
from django.db import connection
from django.utils import timezone

from accounts.models import User
from adminpanel.models import WorkerHeartbeat
from adminpanel.services import heartbeat_request
from follows.models import Follow
from timelines import store
from tweethub import metrics, presence
from tweethub.celery import queue_depth
from tweethub.redis import Role, client_for, url
from tweets import selectors as tweet_selectors
from tweets.models import Tweet

logger = logging.getLogger(__name__)

# Seconds the public figures are cached in Redis: browsers poll every 3 s, and however many are open,
# the SCAN and the counts run at most once per this period.
FIGURES_CACHE_SECONDS = 2
# Versioned: a web process of this release must not read the figures an older one cached (no
# "services" in them) during a rolling restart.
FIGURES_CACHE_KEY = "adminpanel:figures:2"
# Feeds whose memory is measured one by one; beyond this the figure is marked as sampled.
FEED_MEMORY_LIMIT = 20_000
# Fan-out latency chart: buckets of this many minutes over the last LATENCY_WINDOW_MINUTES.
LATENCY_BUCKET_MINUTES = 5
LATENCY_WINDOW_MINUTES = 60
TWEETS_PER_HOUR_HOURS = 24
# A worker is online when its last heartbeat is at most this old: three beat periods, since beat
# hands each heartbeat to one worker of the queue, not to every worker.
WORKER_ONLINE_SECONDS = 3 * settings.WORKER_HEARTBEAT_SECONDS


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


def feed_figures() -> dict[str, Any]:
    """Number of home feeds in Redis and the memory their keys take (bytes): timelines.store's
    census, measured over at most FEED_MEMORY_LIMIT feeds."""
    census = store.census(memory_limit=FEED_MEMORY_LIMIT)
    return {
        "count": census.count,
        "memory_bytes": census.memory_bytes,
        "memory_per_feed": round(census.memory_bytes / census.measured) if census.measured else None,
        "memory_sampled": census.count > census.measured,
        "redis_used_memory": census.server_used_memory,
    }


def latency_buckets(*, now: float | None = None) -> list[LatencyBucket]:
    """p50/p95/p99 fan-out latency (ms) per LATENCY_BUCKET_MINUTES over the last hour, oldest first."""
    per_minute = metrics.fanout_latencies_by_minute(minutes=LATENCY_WINDOW_MINUTES, now=now)
    buckets: list[LatencyBucket] = []
    for first in range(0, len(per_minute), LATENCY_BUCKET_MINUTES):
        samples = [sample for _, values in per_minute[first : first + LATENCY_BUCKET_MINUTES] for sample in values]
        buckets.append(
            {
                "start": per_minute[first][0] * 60,
                "samples": len(samples),
                "p50": metrics.percentile(samples, 0.50),
                "p95": metrics.percentile(samples, 0.95),
                "p99": metrics.percentile(samples, 0.99),
            }
        )
    return buckets


def postgres_version() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        row = cursor.fetchone()
    return str(row[0]) if row else "?"


def redis_versions() -> tuple[str, bool]:
    """The server and version of every distinct Redis the site uses ("Valkey 9.1.0"), and whether
    all answered. The feeds' Redis must answer for the figures at all; the cache's and the channel
    layer's may be down and are then shown as such."""
    urls = dict.fromkeys(url(role) for role in (Role.FEEDS, Role.CACHE, Role.CHANNELS))
    versions, ok = set(), True
    for address in urls:
        try:
            info = client_for(address).info("server")
        except redis.RedisError:
            versions.add("one unreachable")
            ok = False
            continue
        if "valkey_version" in info:
            versions.add(f"Valkey {info['valkey_version']}")
        else:
            versions.add(f"Redis {info['redis_version']}")
    return ", ".join(sorted(versions)), ok


def workers_online() -> list[str]:
    """Names of the workers whose heartbeat is at most WORKER_ONLINE_SECONDS old (one query).
    Host names: staff-only on the panel; the public figures carry their number only."""
    since = timezone.now() - timedelta(seconds=WORKER_ONLINE_SECONDS)
    return list(
        WorkerHeartbeat.objects.filter(last_seen__gte=since).order_by("worker").values_list("worker", flat=True)
    )


def public_figures() -> dict[str, Any]:
    """Aggregate figures safe to show anyone who may open the panel (no names, no ids).

    Asks the workers for a heartbeat when none is fresh (at most once per beat period)."""
    samples = metrics.fanout_latencies(minutes=LATENCY_WINDOW_MINUTES)
    workers = len(workers_online())
    depth = queue_depth()
    redis_version, redis_ok = redis_versions()
    if not workers:
        heartbeat_request()
    return {
        "generated_at": time.time(),
        "users": User.objects.count(),
        "tweets": Tweet.objects.count(),
        "follows": Follow.objects.count(),
        "feeds": feed_figures(),
        "queue_depth": depth,
        "open_sockets": presence.open_sockets(),
        "services": {"postgres": postgres_version(), "redis": redis_version, "redis_ok": redis_ok, "workers": workers},
        "fanout": {
            "samples": len(samples),
            "p50": metrics.percentile(samples, 0.50),
            "p95": metrics.percentile(samples, 0.95),
            "p99": metrics.percentile(samples, 0.99),
            "buckets": latency_buckets(),
        },
        "tweets_per_hour": [
            {"start": start, "count": count}
            for start, count in tweet_selectors.tweets_per_hour(hours=TWEETS_PER_HOUR_HOURS)
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


class Technology(TypedDict, total=False):
    name: str
    role: str
    version: str
    ok: bool
    # A live part: `note` follows the version, and static/js/adminpanel.js rewrites it and the badge
    # from each poll's figures (the element and badge named by `live`).
    live: str
    note: str


@functools.cache
def _package(name: str) -> str:
    """An installed package's version: fixed for the life of the process."""
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def workers_phrase(count: int) -> str:
    """The worker count in words ("1 worker online"); static/js/adminpanel.js writes the same."""
    return f"{count} worker{'s' if count != 1 else ''} online"


def technology(figures: dict[str, Any]) -> list[Technology]:
    """The stack, with the versions of the running services taken from `figures` (public_figures:
    read at most FIGURES_CACHE_SECONDS ago). No I/O of its own. Postgres and Redis are up: the
    figures were just read from them (computing them fails without either); Redis here means every
    Redis URL the site uses, the channel layer's too."""
    services = figures["services"]
    return [
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
            "version": services["postgres"],
            "ok": True,
        },
        {
            "name": "Redis",
            "role": "home feeds, counters, trends, cache, Celery broker, channel layer: all rebuildable",
            "version": services["redis"],
            "ok": services["redis_ok"],
        },
        {
            "name": "Celery",
            "role": "fan-out, backfills, rebuilds, mail, the nightly purge",
            "version": _package("celery"),
            "ok": bool(services["workers"]),
            "live": "workers",
            "note": workers_phrase(services["workers"]),
        },
        {
            "name": "Django Channels",
            "role": "websockets; channels-redis carries live events, one message per web process with a recipient",
            "version": f"channels {_package('channels')}, channels-redis {_package('channels-redis')}",
            "ok": services["redis_ok"],
        },
    ]
