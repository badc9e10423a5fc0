"""Redis clients, one connection pool per URL, shared by everything in the process.

Feeds, counters and the cache each have their own URL setting (see tweethub/settings/); code asks for a
role, never for a URL, so splitting roles over separate servers is a configuration change.
"""

from __future__ import annotations

from functools import cache

import redis
from django.conf import settings
from redis.commands.core import Script


@cache
def client_for(url: str) -> redis.Redis:
    """A client with bounded timeouts: a dead Redis must produce an error quickly, never a hang."""
    return redis.Redis.from_url(
        url,
        socket_timeout=settings.REDIS_SOCKET_TIMEOUT,
        socket_connect_timeout=settings.REDIS_SOCKET_TIMEOUT,
        health_check_interval=30,
    )


def feeds() -> redis.Redis:
    """Per-user home feeds, counters and trends: rebuildable from Postgres."""
    return client_for(settings.FEEDS_REDIS_URL)


@cache
def script(client: redis.Redis, source: str) -> Script:
    """A Lua script bound to a client, made once per process: `register_script` hashes the source
    (SHA1) every time it is called, a cost the hot paths (one script per page) should not pay per
    request. The Script loads itself again if the server lost it (NOSCRIPT after a restart)."""
    return client.register_script(source)
