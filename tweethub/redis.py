"""Redis clients by role, one connection pool per URL, shared by everything in the process.

Code asks for a role, never for a URL, so moving a role to a server of its own is a configuration
change. The roles, and the setting each one reads:

- `feeds()` (FEEDS_REDIS_URL): home feeds and author lists (timelines.store), and what the home
  page's one-round-trip script reads beside them: the feed state (follows.feedstate), tweet cards
  and author cards. They must share one server.
- `counters()` (FEEDS_REDIS_URL as well; no setting of its own): rate-limit windows, trend
  counts, presence, fan-out latency samples, the nearby GEO index. Small, rebuildable or expendable.
- `cache()` (CACHE_REDIS_URL): session copies, the auth-user cache and activity queue; Django's
  cache (settings.CACHES) uses the same URL.
- `channels()` (CHANNELS_REDIS_URL): the channel layer (channels-redis: one inbox per web process,
  the session groups), which carries live events.
- `broker()` (CELERY_BROKER_URL): Celery's queues and the delivery ledger (tweethub.worker_recovery).

Which keys live under each role, and who owns them: tweethub.rediskeys.
"""

from __future__ import annotations

from enum import StrEnum
from functools import cache as _once
from urllib.parse import parse_qs, urlencode, urlsplit

import redis
from django.conf import settings
from redis.commands.core import Script


class Role(StrEnum):
    """What a Redis server is used for (see the module docstring)."""

    FEEDS = "feeds"
    COUNTERS = "counters"
    CACHE = "cache"
    CHANNELS = "channels"
    BROKER = "broker"


@_once
def client_for(url: str) -> redis.Redis:
    """A client with bounded timeouts: a dead Redis must produce an error quickly, never a hang."""
    return redis.Redis.from_url(
        url,
        socket_timeout=settings.REDIS_SOCKET_TIMEOUT,
        socket_connect_timeout=settings.REDIS_SOCKET_TIMEOUT,
        health_check_interval=30,
    )


def redis_url(broker_url: str) -> str:
    """A Celery broker URL as redis-py spells it: kombu writes unix sockets redis+socket://."""
    parts = urlsplit(broker_url)
    if parts.scheme != "redis+socket":
        return broker_url
    query = {key: values[0] for key, values in parse_qs(parts.query).items()}
    db = query.pop("virtual_host", "0") or "0"
    return f"unix://{parts.path}?{urlencode({'db': db, **query})}"


def url(role: Role) -> str:
    """The URL of the Redis serving `role`, read from settings at each call (tests override them)."""
    if role in (Role.FEEDS, Role.COUNTERS):
        return str(settings.FEEDS_REDIS_URL)
    if role is Role.CACHE:
        return str(settings.CACHE_REDIS_URL)
    if role is Role.CHANNELS:
        return str(settings.CHANNELS_REDIS_URL)
    return redis_url(str(settings.CELERY_BROKER_URL))


def client(role: Role) -> redis.Redis:
    return client_for(url(role))


def feeds() -> redis.Redis:
    """Home feeds, author lists, feed state, tweet and author cards: rebuildable from Postgres."""
    return client(Role.FEEDS)


def counters() -> redis.Redis:
    """Rate limits, trends, presence, fan-out metrics, the GEO index: rebuildable or expendable."""
    return client(Role.COUNTERS)


def cache() -> redis.Redis:
    """Session copies, the auth-user cache, the activity queue: copies of Postgres."""
    return client(Role.CACHE)


def channels() -> redis.Redis:
    """The channel layer's Redis (tweethub.channel_layer, and channels-redis's own pools)."""
    return client(Role.CHANNELS)


def broker() -> redis.Redis:
    """The Celery broker's Redis (its queues, kombu's bookkeeping, the delivery ledger)."""
    return client(Role.BROKER)


@_once
def script(client: redis.Redis, source: str) -> Script:
    """A Lua script bound to a client, made once per process: `register_script` hashes the source
    (SHA1) every time it is called, a cost the hot paths (one script per page) should not pay per
    request. The Script loads itself again if the server lost it (NOSCRIPT after a restart)."""
    return client.register_script(source)
