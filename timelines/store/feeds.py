"""Feeds and author lists: push, remove, page, rebuild, install, drop (see timelines.store)."""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import redis
from django.conf import settings

from timelines.store.keys import (
    HOME_FLOORS,
    Kind,
    buffer_key,
    feed_key,
    feed_ttl_ms,
    floor_key,
    lock_key,
    request_key,
    user_of_floor_key,
)
from tweethub.redis import feeds
from tweethub.redis import script as redis_script

_BUILD_MARKER = "_"  # member that makes an empty build buffer exist; score -1, below any floor


# Once the feed is over cap + slack, trim it back to cap, raising the floor to the highest id
# removed. Shared by the scripts. The slack amortises trimming, a third of a push's Redis time
# (make bench: 14.1 -> 9.8 us per feed with slack 16), since most pushes then skip it.
_TRIM = """
local function trim(tl, tlf, cap, slack)
  local card = redis.call('ZCARD', tl)
  if card > cap + slack then
    local removed = redis.call('ZPOPMIN', tl, card - cap)
    redis.call('SET', tlf, removed[#removed - 1], 'KEEPTTL')
  end
  return card
end
"""

# KEYS: (tl, tlf, tlb) for each user.  ARGV: cap, min_floor, slack, then the tweet ids to add.
# min_floor > 0 first raises each floor to it (dropping ids at or below): a backfill that adds only
# the newest N of someone's tweets must not let the feed claim the older ones.
# Returns the 1-based positions of the users whose feed took at least one new id, or already held
# one above its floor (a push repeated: see `push`).
_PUSH = (
    _TRIM
    + """
local cap, min_floor, slack = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local written = {}
for i = 1, #KEYS, 3 do
  local tl, tlf, tlb = KEYS[i], KEYS[i + 1], KEYS[i + 2]
  local floor = redis.call('GET', tlf)
  if floor then
    floor = tonumber(floor)
    if min_floor > floor then
      floor = min_floor
      redis.call('SET', tlf, ARGV[2], 'KEEPTTL')
      redis.call('ZREMRANGEBYSCORE', tl, '-inf', ARGV[2])
    end
    local took = 0
    for j = 4, #ARGV do
      if tonumber(ARGV[j]) > floor then
        took = took + redis.call('ZADD', tl, ARGV[j], ARGV[j])
      end
    end
    if took > 0 then
      local card = trim(tl, tlf, cap, slack)
      if card == took then
        -- The set was empty (so absent) before: give the new key the feed's remaining lifetime.
        redis.call('PEXPIRE', tl, redis.call('PTTL', tlf))
      end
      written[#written + 1] = (i + 2) / 3
    else
      -- Nothing new: this push was made before (a fan-out run again after its worker died). Those
      -- already holding the tweet still count, since the run that wrote it may not have announced it.
      for j = 4, #ARGV do
        if tonumber(ARGV[j]) > floor and redis.call('ZSCORE', tl, ARGV[j]) then
          written[#written + 1] = (i + 2) / 3
          break
        end
      end
    end
  elseif redis.call('EXISTS', tlb) == 1 then
    -- A rebuild is reading Postgres (begin_rebuild removed the feed, so a feed and a buffer never
    -- exist together and the common case, a feed, costs no check here). The rebuilt feed will
    -- hold the tweet, so the user counts as reached: a page open meanwhile hears of it live.
    for j = 4, #ARGV do
      redis.call('ZADD', tlb, ARGV[j], ARGV[j])
    end
    written[#written + 1] = (i + 2) / 3
  end
end
return written
"""
)

# KEYS: tl, tlf.  ARGV: before (exclusive, a number or +inf), limit, ttl_ms.
# Returns false when the feed does not exist, else {floor, ids newest first (floor < id < before)}.
_PAGE = """
local floor = redis.call('GET', KEYS[2])
if not floor then
  return false
end
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
local ids = redis.call('ZREVRANGEBYSCORE', KEYS[1], '(' .. ARGV[1], '(' .. floor, 'LIMIT', 0, ARGV[2])
return {floor, ids}
"""

# KEYS: tl, tlf, tlb, tlr.  ARGV: cap, ttl_ms, floor, the rebuild's token, then the ids read from
# Postgres. Returns the feed's size, or false (nothing written) if the lock is no longer this rebuild's.
_FINISH_BUILD = (
    _TRIM
    + """
local tl, tlf, tlb, tlr = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local cap, ttl, floor = tonumber(ARGV[1]), ARGV[2], ARGV[3]
if redis.call('GET', tlr) ~= ARGV[4] then
  -- Redis lost the lock (flushed, restarted) and the buffer with it, or another rebuild holds it
  -- now: tweets pushed while Postgres was read may be gone, so this feed cannot be vouched for.
  return false
end
redis.call('DEL', tl)
for j = 5, #ARGV do
  redis.call('ZADD', tl, ARGV[j], ARGV[j])
end
-- Tweets fanned out while Postgres was being read: none of them may be lost.
local pushed = redis.call('ZRANGEBYSCORE', tlb, '(' .. floor, '+inf')
for _, id in ipairs(pushed) do
  redis.call('ZADD', tl, id, id)
end
redis.call('DEL', tlb, tlr)
redis.call('SET', tlf, floor, 'PX', ttl)
trim(tl, tlf, cap, 0)
if redis.call('EXISTS', tl) == 1 then
  redis.call('PEXPIRE', tl, ttl)
end
return redis.call('ZCARD', tl)
"""
)

# KEYS: tlb, tlr.  ARGV: the rebuild's token. Releases the rebuild only if the lock is still its own.
_ABANDON_BUILD = """
if redis.call('GET', KEYS[2]) == ARGV[1] then
  redis.call('DEL', KEYS[1], KEYS[2])
end
"""


def _keys(user_ids: Sequence[int], kind: Kind) -> list[str]:
    keys: list[str] = []
    for user_id in user_ids:
        keys += [feed_key(user_id, kind), floor_key(user_id, kind), buffer_key(user_id, kind)]
    return keys


def push(
    *, tweet_ids: Sequence[int], user_ids: Sequence[int], min_floor: int = 0, kind: Kind = Kind.HOME
) -> list[int]:
    """Add tweets to the feeds of `user_ids` that exist, in ONE round trip. Idempotent.

    `min_floor`: when adding only the newest of an account's tweets (a backfill), the id of the
    newest one NOT added; feeds whose floor is lower raise it there first (see _PUSH).
    Returns the users whose feed took at least one new id or already held one above its floor
    (those who should hear about it live), and those whose feed is being rebuilt (the buffer took
    it): a fan-out run again after its worker died must still announce the tweet to the feeds the
    dead run wrote, since it died before announcing it; a client ignores a tweet it already shows.
    Users without a feed are skipped: their feed will be built from Postgres when they read.
    """
    if not user_ids or not (tweet_ids or min_floor):
        return []
    script = redis_script(feeds(), _PUSH)
    positions = script(
        keys=_keys(user_ids, kind),
        args=[settings.TIMELINE_LENGTH, min_floor, settings.TIMELINE_TRIM_SLACK, *tweet_ids],
    )
    return [user_ids[int(position) - 1] for position in positions]


def remove(*, tweet_ids: Sequence[int], user_ids: Sequence[int], kind: Kind = Kind.HOME) -> None:
    """Remove tweets from these users' feeds (and any rebuild buffers), one round trip."""
    if not tweet_ids or not user_ids:
        return
    members = [str(tweet_id) for tweet_id in tweet_ids]
    pipe = feeds().pipeline(transaction=False)
    for user_id in user_ids:
        pipe.zrem(feed_key(user_id, kind), *members)
        pipe.zrem(buffer_key(user_id, kind), *members)
    pipe.execute()


@dataclass(frozen=True)
class FeedPage:
    ids: list[int]  # newest first, all > floor and < the requested cursor
    floor: int  # ids at or below this come from Postgres


def page(*, user_id: int, before: int | None, limit: int) -> FeedPage | None:
    """Up to `limit` ids older than `before` from the feed, or None if the user has no feed.

    Reading also extends the feed's life (see feed_ttl_ms).
    """
    script = redis_script(feeds(), _PAGE)
    bound = "+inf" if before is None else str(before)
    result = script(keys=[feed_key(user_id), floor_key(user_id)], args=[bound, limit, feed_ttl_ms()])
    if not result:
        return None
    floor, ids = result
    return FeedPage(ids=[int(tweet_id) for tweet_id in ids], floor=int(floor))


def exists(*, user_id: int) -> bool:
    return bool(feeds().exists(floor_key(user_id)))


def begin_rebuild(*, user_id: int, lock_seconds: int = 120, kind: Kind = Kind.HOME) -> str | None:
    """Start a rebuild: take the user's rebuild lock, drop the current feed and open the buffer that
    catches tweets pushed while Postgres is read. Returns the rebuild's token (for finish_rebuild or
    abandon_rebuild), or None if another rebuild holds the lock (nothing to do then). Dropping the
    feed keeps "feed xor buffer" true, which spares every push a check for a buffer when a feed
    exists; meanwhile readers get the SQL answer, as for any missing feed."""
    client = feeds()
    token = secrets.token_hex(8)
    if not client.set(lock_key(user_id, kind), token, nx=True, ex=lock_seconds):
        return None
    pipe = client.pipeline(transaction=True)
    pipe.delete(feed_key(user_id, kind), floor_key(user_id, kind), buffer_key(user_id, kind))
    pipe.zadd(buffer_key(user_id, kind), {_BUILD_MARKER: -1})
    pipe.expire(buffer_key(user_id, kind), lock_seconds)
    pipe.execute()
    return token


def finish_rebuild(
    *, user_id: int, tweet_ids: Sequence[int], floor: int, token: str, kind: Kind = Kind.HOME
) -> int | None:
    """Replace the feed with `tweet_ids` (read from Postgres after begin_rebuild) plus whatever was
    pushed meanwhile, set its floor, release the lock. Returns the feed's size.

    None, writing nothing, if the lock is no longer this rebuild's: Redis was flushed or restarted
    (taking the buffer with it) or the lock expired, perhaps with another rebuild under way. The
    user is then left without a feed (or to the other rebuild) and the next read asks again."""
    script = redis_script(feeds(), _FINISH_BUILD)
    size = script(
        keys=[feed_key(user_id, kind), floor_key(user_id, kind), buffer_key(user_id, kind), lock_key(user_id, kind)],
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
    pipe = feeds().pipeline(transaction=False)
    for user_id, (tweet_ids, floor) in feeds_by_user.items():
        if len(tweet_ids) > settings.TIMELINE_LENGTH:
            raise ValueError(f"feed of {user_id}: {len(tweet_ids)} ids, over TIMELINE_LENGTH")
        pipe.delete(feed_key(user_id), buffer_key(user_id))
        if tweet_ids:
            pipe.zadd(feed_key(user_id), {str(tweet_id): tweet_id for tweet_id in tweet_ids})
            pipe.pexpire(feed_key(user_id), ttl)
        pipe.set(floor_key(user_id), floor, px=ttl)
    pipe.execute()


def abandon_rebuild(*, user_id: int, token: str, kind: Kind = Kind.HOME) -> None:
    """Release a rebuild that failed half-way (the user is left without a feed: the next read
    serves SQL and queues another rebuild). A lock another rebuild took meanwhile stays its own."""
    redis_script(feeds(), _ABANDON_BUILD)(keys=[buffer_key(user_id, kind), lock_key(user_id, kind)], args=[token])


def drop(*, user_ids: Sequence[int], kind: Kind = Kind.HOME) -> None:
    """Forget these users' feeds (inactive or deleted accounts); rebuilt from Postgres on return."""
    if not user_ids:
        return
    pipe = feeds().pipeline(transaction=False)
    for user_id in user_ids:
        pipe.delete(feed_key(user_id, kind), floor_key(user_id, kind), buffer_key(user_id, kind))
    pipe.execute()


def memory_usage(*, user_id: int) -> int:
    """Bytes Redis uses for this user's feed keys (MEMORY USAGE), for benchmarks and the panel."""
    client = feeds()
    total = 0
    for key in (feed_key(user_id), floor_key(user_id)):
        with contextlib.suppress(redis.ResponseError):
            total += int(client.memory_usage(key) or 0)
    return total


@dataclass(frozen=True)
class FeedCensus:
    """The home feeds in Redis, counted for the admin panel."""

    count: int  # feeds that exist (a floor key each)
    memory_bytes: int  # MEMORY USAGE of the measured feeds' two keys, summed
    measured: int  # feeds measured: all of them, or the first `memory_limit`
    server_used_memory: int  # the whole feeds Redis (INFO memory)


# COUNT hint for SCAN: keys Redis examines per call (never KEYS, which blocks the server).
SCAN_COUNT = 1000


def census(*, memory_limit: int) -> FeedCensus:
    """How many home feeds exist and the memory they take, measured over at most `memory_limit`
    of them (MEMORY USAGE, pipelined). SCANs the floor keys: O(all keys) per call, in small steps
    that never block Redis for long; callers cache the answer."""
    client = feeds()
    users = [user_of_floor_key(key) for key in client.scan_iter(match=HOME_FLOORS.pattern, count=SCAN_COUNT)]
    measured = users[:memory_limit]
    pipe = client.pipeline(transaction=False)
    for user_id in measured:
        pipe.memory_usage(feed_key(user_id))
        pipe.memory_usage(floor_key(user_id))
    memory = sum(int(value or 0) for value in pipe.execute()) if measured else 0
    info = client.info("memory")
    return FeedCensus(
        count=len(users),
        memory_bytes=memory,
        measured=len(measured),
        server_used_memory=int(info.get("used_memory", 0)),
    )


def claim_rebuild_request(*, user_id: int, seconds: int = 30, kind: Kind = Kind.HOME) -> bool:
    """True for the first caller in `seconds`: readers without a feed queue one rebuild, not one
    per page view while it is pending."""
    return bool(feeds().set(request_key(user_id, kind), 1, nx=True, ex=seconds))
