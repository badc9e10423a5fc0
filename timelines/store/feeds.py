"""Feeds and author lists: push, remove, page, rebuild, install, drop (see timelines.store).

Home feeds live on the feed shards (tweethub.redis.feed_shards: one server, several, or a cluster):
commands on one user's keys go to that user's server; a push or a drop of many users is grouped per
server and the per-server calls run concurrently. Author lists live on the feeds server
(tweethub.redis.feeds), beside the tweet cards the home page reads with them.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

import redis
from django.conf import settings

from timelines.store import scripts
from timelines.store.keys import (
    FLOOR_MEMBER,
    HOME_FEEDS,
    Kind,
    buffer_key,
    buffer_prefix,
    feed_key,
    feed_prefix,
    feed_ttl_ms,
    lock_key,
    request_key,
    user_of_feed_key,
)
from tweethub.redis import feed_shards, feeds
from tweethub.redis import script as redis_script

T = TypeVar("T")


def _client(user_id: int, kind: Kind) -> redis.Redis:
    """Where this user's keys of `kind` live (see the module docstring)."""
    return feed_shards().client(user_id) if kind is Kind.HOME else feeds()


def _on_servers(user_ids: Sequence[int], kind: Kind, call: Callable[[redis.Redis, list[int]], T]) -> list[T]:
    """`call(server, users)` once per server holding some of these users' keys, concurrently.
    Everything run this way is idempotent, so after a cluster moved slots (MOVED, or a script
    refused a key its node no longer holds) the slot map is reloaded and the calls run again."""
    if kind is Kind.AUTHOR:
        return [call(feeds(), list(user_ids))]
    shards = feed_shards()
    try:
        return shards.each(shards.group(user_ids), call)
    except redis.ResponseError as error:  # MovedError and AskError are ResponseErrors too
        moved = isinstance(error, redis.exceptions.AskError) or "non local key" in str(error)
        if not (shards.cluster and moved):
            raise
        shards.refresh()
        return shards.each(shards.group(user_ids), call)


def push(
    *, tweet_ids: Sequence[int], user_ids: Sequence[int], min_floor: int = 0, kind: Kind = Kind.HOME
) -> list[int]:
    """Add tweets to the feeds of `user_ids` that exist, in ONE round trip per feed server (those
    run concurrently). Idempotent.

    `min_floor`: when adding only the newest of an account's tweets (a backfill), the id of the
    newest one NOT added; feeds whose floor is lower raise it there first (see scripts.PUSH).
    Returns the users whose feed took at least one new id or already held one above its floor
    (those who should hear about it live), and those whose feed is being rebuilt (the buffer took
    it): a fan-out run again after its worker died must still announce the tweet to the feeds the
    dead run wrote, since it died before announcing it; a client ignores a tweet it already shows.
    Users without a feed are skipped: their feed will be built from Postgres when they read.
    """
    if not user_ids or not (tweet_ids or min_floor):
        return []
    source = scripts.PUSH
    if kind is Kind.HOME and feed_shards().cluster:
        source = scripts.CLUSTER_FLAGS + source
    head: list[str | int] = [
        feed_prefix(kind),
        buffer_prefix(kind),
        settings.TIMELINE_LENGTH,
        min_floor,
        settings.TIMELINE_TRIM_SLACK,
        len(tweet_ids),
        *tweet_ids,
    ]

    def one_server(server: redis.Redis, users: list[int]) -> list[int]:
        """The users of `users` NOT reached (see scripts.PUSH)."""
        positions = redis_script(server, source)(keys=[], args=[*head, *users])
        return [users[int(position) - 1] for position in positions]

    missed = {user for users in _on_servers(user_ids, kind, one_server) for user in users}
    return [user_id for user_id in user_ids if user_id not in missed] if missed else list(user_ids)


def remove(*, tweet_ids: Sequence[int], user_ids: Sequence[int], kind: Kind = Kind.HOME) -> None:
    """Remove tweets from these users' feeds (and any rebuild buffers), one round trip per server."""
    if not tweet_ids or not user_ids:
        return
    members = [str(tweet_id) for tweet_id in tweet_ids]

    def one_server(server: redis.Redis, users: list[int]) -> None:
        pipe = server.pipeline(transaction=False)
        for user_id in users:
            pipe.zrem(feed_key(user_id, kind), *members)
            pipe.zrem(buffer_key(user_id, kind), *members)
        pipe.execute()

    _on_servers(user_ids, kind, one_server)


@dataclass(frozen=True)
class FeedPage:
    ids: list[int]  # newest first, all > floor and < the requested cursor
    floor: int  # ids at or below this come from Postgres


def page(*, user_id: int, before: int | None, limit: int) -> FeedPage | None:
    """Up to `limit` ids older than `before` from the feed, or None if the user has no feed.

    Reading also extends the feed's life (see feed_ttl_ms).
    """
    script = redis_script(_client(user_id, Kind.HOME), scripts.PAGE)
    bound = "+inf" if before is None else str(before)
    result = script(keys=[feed_key(user_id)], args=[bound, limit, feed_ttl_ms()])
    if not result:
        return None
    floor, ids = result
    return FeedPage(ids=[int(tweet_id) for tweet_id in ids], floor=int(floor))


def exists(*, user_id: int) -> bool:
    return bool(_client(user_id, Kind.HOME).exists(feed_key(user_id)))


def begin_rebuild(*, user_id: int, lock_seconds: int = 120, kind: Kind = Kind.HOME) -> str | None:
    """Start a rebuild: take the user's rebuild lock, drop the current feed and open the buffer that
    catches tweets pushed while Postgres is read. Returns the rebuild's token (for finish_rebuild or
    abandon_rebuild), or None if another rebuild holds the lock (nothing to do then). Dropping the
    feed keeps "feed xor buffer" true, which spares every push a check for a buffer when a feed
    exists; meanwhile readers get the SQL answer, as for any missing feed."""
    token = secrets.token_hex(8)
    script = redis_script(_client(user_id, kind), scripts.BEGIN_BUILD)
    keys = [feed_key(user_id, kind), buffer_key(user_id, kind), lock_key(user_id, kind)]
    return token if script(keys=keys, args=[token, lock_seconds]) else None


def finish_rebuild(
    *, user_id: int, tweet_ids: Sequence[int], floor: int, token: str, kind: Kind = Kind.HOME
) -> int | None:
    """Replace the feed with `tweet_ids` (read from Postgres after begin_rebuild) plus whatever was
    pushed meanwhile, set its floor, release the lock. Returns the feed's size.

    None, writing nothing, if the lock is no longer this rebuild's: Redis was flushed or restarted
    (taking the buffer with it) or the lock expired, perhaps with another rebuild under way. The
    user is then left without a feed (or to the other rebuild) and the next read asks again."""
    script = redis_script(_client(user_id, kind), scripts.FINISH_BUILD)
    size = script(
        keys=[feed_key(user_id, kind), buffer_key(user_id, kind), lock_key(user_id, kind)],
        args=[settings.TIMELINE_LENGTH, feed_ttl_ms(), floor, token, *tweet_ids],
    )
    return None if size is None else int(size)


def install(*, feeds_by_user: Mapping[int, tuple[Sequence[int], int]]) -> None:
    """Write whole feeds computed from Postgres, {user: (ids newest first, floor)}, pipelined.

    For bulk loading only (seed_data, benchmarks): unlike begin/finish_rebuild there is no lock
    and no buffer, so a tweet fanned out while this runs could be overwritten. Callers run it
    when nothing else writes feeds. Each feed gets the same shape and lifetime a rebuild gives it.
    """
    ttl = feed_ttl_ms()
    for user_id, (tweet_ids, _floor) in feeds_by_user.items():
        if len(tweet_ids) > settings.TIMELINE_LENGTH:
            raise ValueError(f"feed of {user_id}: {len(tweet_ids)} ids, over TIMELINE_LENGTH")

    def one_server(server: redis.Redis, users: list[int]) -> None:
        pipe = server.pipeline(transaction=False)
        for user_id in users:
            tweet_ids, floor = feeds_by_user[user_id]
            pipe.delete(feed_key(user_id), buffer_key(user_id))
            # Only ids above the floor: the floor member must stay the set's lowest (scripts.PUSH).
            members = {str(tweet_id): tweet_id for tweet_id in tweet_ids if tweet_id > floor}
            pipe.zadd(feed_key(user_id), {FLOOR_MEMBER: floor, **members})
            pipe.pexpire(feed_key(user_id), ttl)
        pipe.execute()

    _on_servers(list(feeds_by_user), Kind.HOME, one_server)


def abandon_rebuild(*, user_id: int, token: str, kind: Kind = Kind.HOME) -> None:
    """Release a rebuild that failed half-way (the user is left without a feed: the next read
    serves SQL and queues another rebuild). A lock another rebuild took meanwhile stays its own."""
    script = redis_script(_client(user_id, kind), scripts.ABANDON_BUILD)
    script(keys=[buffer_key(user_id, kind), lock_key(user_id, kind)], args=[token])


def drop(*, user_ids: Sequence[int], kind: Kind = Kind.HOME) -> None:
    """Forget these users' feeds (inactive or deleted accounts); rebuilt from Postgres on return."""
    if not user_ids:
        return

    def one_server(server: redis.Redis, users: list[int]) -> None:
        pipe = server.pipeline(transaction=False)
        for user_id in users:
            pipe.delete(feed_key(user_id, kind), buffer_key(user_id, kind))
        pipe.execute()

    _on_servers(user_ids, kind, one_server)


def memory_usage(*, user_id: int) -> int:
    """Bytes Redis uses for this user's feed keys (MEMORY USAGE), for benchmarks and the panel."""
    with contextlib.suppress(redis.ResponseError):
        return int(_client(user_id, Kind.HOME).memory_usage(feed_key(user_id)) or 0)
    return 0


@dataclass(frozen=True)
class FeedCensus:
    """The home feeds in Redis, counted for the admin panel."""

    count: int  # feeds that exist (a sorted set each)
    memory_bytes: int  # MEMORY USAGE of the measured feeds' sorted sets, summed
    measured: int  # feeds measured: all of them, or the first `memory_limit`
    server_used_memory: int  # the feed servers (INFO memory), summed


# COUNT hint for SCAN: keys Redis examines per call (never KEYS, which blocks the server).
SCAN_COUNT = 1000


def census(*, memory_limit: int) -> FeedCensus:
    """How many home feeds exist and the memory they take, measured over at most `memory_limit`
    of them (MEMORY USAGE, pipelined). SCANs every feed server: O(all keys) per call, in small steps
    that never block Redis for long; callers cache the answer."""
    count, measured, memory, used = 0, 0, 0, 0
    for server in feed_shards().nodes():
        users = [user_of_feed_key(key) for key in server.scan_iter(match=HOME_FEEDS.pattern, count=SCAN_COUNT)]
        count += len(users)
        sample = users[: max(memory_limit - measured, 0)]
        measured += len(sample)
        if sample:
            pipe = server.pipeline(transaction=False)
            for user_id in sample:
                pipe.memory_usage(feed_key(user_id))
            memory += sum(int(value or 0) for value in pipe.execute())
        used += int(server.info("memory").get("used_memory", 0))
    return FeedCensus(count=count, memory_bytes=memory, measured=measured, server_used_memory=used)


def claim_rebuild_request(*, user_id: int, seconds: int = 30, kind: Kind = Kind.HOME) -> bool:
    """True for the first caller in `seconds`: readers without a feed queue one rebuild, not one
    per page view while it is pending."""
    return bool(_client(user_id, kind).set(request_key(user_id, kind), 1, nx=True, ex=seconds))
