"""Redis clients by role, one connection pool per URL, shared by everything in the process.

Code asks for a role, never for a URL, so moving a role to a server of its own is a configuration
change. The roles, and the setting each one reads:

- `feed_shards()` (FEEDS_REDIS_URLS, FEEDS_REDIS_CLUSTER): the home feeds (timelines.store), the
  keys every fan-out writes: one server (by default FEEDS_REDIS_URL's), several plain servers
  sharded client-side by the {user} hash slot, or a Redis/Valkey Cluster. See FeedShards.
- `feeds()` (FEEDS_REDIS_URL): author lists (timelines.store), and what the home page's read
  gathers beside the feed: the feed state (follows.feedstate), tweet cards and author cards. They
  share one server, so that part of the home page stays one round trip.
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

import os
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from enum import StrEnum
from functools import cache as _once
from typing import TypeVar, cast
from urllib.parse import parse_qs, urlencode, urlsplit

import redis
from django.conf import settings
from redis.cluster import RedisCluster
from redis.commands.core import Script
from redis.crc import REDIS_CLUSTER_HASH_SLOTS, key_slot

T = TypeVar("T")


class Role(StrEnum):
    """What a Redis server is used for (see the module docstring)."""

    FEEDS = "feeds"
    FEED_SHARDS = "feed shards"
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
    if role is Role.FEED_SHARDS:
        return ",".join(_feed_urls())
    if role is Role.CACHE:
        return str(settings.CACHE_REDIS_URL)
    if role is Role.CHANNELS:
        return str(settings.CHANNELS_REDIS_URL)
    return redis_url(str(settings.CELERY_BROKER_URL))


def client(role: Role) -> redis.Redis:
    """The role's client; for FEED_SHARDS, its first node (use `servers` or `feed_shards`)."""
    if role is Role.FEED_SHARDS:
        return feed_shards().nodes()[0]
    return client_for(url(role))


def servers(role: Role) -> list[redis.Redis]:
    """A plain client per server holding the role's keys (to SCAN them all): several for sharded feeds."""
    return feed_shards().nodes() if role is Role.FEED_SHARDS else [client(role)]


def feeds() -> redis.Redis:
    """Home feeds, author lists, feed state, tweet and author cards: rebuildable from Postgres."""
    return client(Role.FEEDS)


class FeedShards:
    """The servers home feeds live on, by the hash slot of the {user} tag in their keys.

    Plain shards: slot s lives on shard s * len(shards) // 16384 (contiguous slot ranges, as a
    cluster assigns them), so the same user lands on the same shard in every process. Cluster:
    where the cluster says (redis.cluster.RedisCluster keeps the slot map and follows MOVED).
    `node()` is a plain client of one server, for scripts that take many users' keys at once
    (grouped per node by `group`, sent concurrently by `each`); `client()` is what a command on one
    user's keys goes through (in cluster mode the cluster client, which routes and retries).
    """

    def __init__(self, urls: Sequence[str], *, cluster: bool) -> None:
        if not urls:
            raise ValueError("FEEDS_REDIS_URLS is empty")
        self.cluster = cluster
        self._cluster: RedisCluster | None = None
        # URLs, not clients: client_for() is asked at each call, so a process (or a test) that
        # dropped its clients (client_for.cache_clear() after a Redis restart) gets fresh ones here too.
        self._urls: tuple[str, ...] = ()
        if cluster:
            self._cluster = RedisCluster.from_url(
                urls[0],
                socket_timeout=settings.REDIS_SOCKET_TIMEOUT,
                socket_connect_timeout=settings.REDIS_SOCKET_TIMEOUT,
            )
        else:
            self._urls = tuple(urls)

    @staticmethod
    def slot(user_id: int) -> int:
        """The hash slot of every key of this user's (they all carry the {user} tag)."""
        return key_slot(b"{%d}" % user_id)

    def node(self, user_id: int) -> redis.Redis:
        """A plain client of the server holding this user's feed keys (in a cluster, its primary)."""
        slot = self.slot(user_id)
        if self._cluster is not None:
            connection: redis.Redis | None = self._cluster.nodes_manager.get_node_from_slot(slot).redis_connection
            assert connection is not None
            return connection
        return client_for(self._urls[slot * len(self._urls) // REDIS_CLUSTER_HASH_SLOTS])

    def url_of(self, user_id: int) -> str | None:
        """The URL of the plain server holding this user's feed (None on a cluster)."""
        if self._cluster is not None:
            return None
        return self._urls[self.slot(user_id) * len(self._urls) // REDIS_CLUSTER_HASH_SLOTS]

    def client(self, user_id: int) -> redis.Redis:
        """For commands and scripts on one user's keys (all in one slot)."""
        if self._cluster is None:
            return self.node(user_id)
        # Not a redis.Redis subclass, but the same commands and register_script: callers need no branch.
        return cast(redis.Redis, self._cluster)

    def nodes(self) -> list[redis.Redis]:
        """Every server holding feeds (a cluster's primaries)."""
        if self._cluster is None:
            return [client_for(shard_url) for shard_url in dict.fromkeys(self._urls)]
        clients = [node.redis_connection for node in self._cluster.get_primaries()]  # type: ignore[no-untyped-call]
        return [node for node in clients if node is not None]

    def group(self, user_ids: Iterable[int]) -> dict[redis.Redis, list[int]]:
        """The users per server holding their feed, in the order given."""
        groups: dict[redis.Redis, list[int]] = {}
        for user_id in user_ids:
            groups.setdefault(self.node(user_id), []).append(user_id)
        return groups

    def each(self, groups: dict[redis.Redis, list[int]], call: Callable[[redis.Redis, list[int]], T]) -> list[T]:
        """`call(node, users)` per group, concurrently when there are several (redis-py clients are
        thread-safe: each thread takes its own connection from the node's pool). A failure raises
        here; the other calls still run to their end (what is run this way is idempotent)."""
        if len(groups) <= 1:
            return [call(node, users) for node, users in groups.items()]
        futures = [_executor().submit(call, node, users) for node, users in groups.items()]
        return [future.result() for future in futures]

    def refresh(self) -> None:
        """Reload a cluster's slot map (after MOVED: slots were migrated)."""
        if self._cluster is not None:
            self._cluster.nodes_manager.initialize()


@_once
def _feed_shards(urls: tuple[str, ...], cluster: bool) -> FeedShards:
    return FeedShards(urls, cluster=cluster)


def _feed_urls() -> tuple[str, ...]:
    return tuple(settings.FEEDS_REDIS_URLS) or (str(settings.FEEDS_REDIS_URL),)


def feed_shards() -> FeedShards:
    """The home feeds' servers (settings read at each call: tests switch topologies)."""
    return _feed_shards(_feed_urls(), bool(settings.FEEDS_REDIS_CLUSTER))


_EXECUTORS: dict[int, ThreadPoolExecutor] = {}


def _executor() -> ThreadPoolExecutor:
    """Threads for per-node calls, made per process: a prefork child must not inherit the parent's."""
    pid = os.getpid()
    if pid not in _EXECUTORS:
        _EXECUTORS[pid] = ThreadPoolExecutor(max_workers=16, thread_name_prefix="feed-shards")
    return _EXECUTORS[pid]


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
