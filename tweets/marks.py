"""A member's likes and bookmarks of recent tweets, cached on the feeds Redis, so that the home
page's one script reads them with the cards and a warm home page makes no SQL query (issue 15).

    tm:{<user id>}   hash, for MARKS_CACHE_SECONDS from its fill:
                       _        the floor, a tweet id: the hash holds EVERY like ("l<tweet id>") and
                                bookmark ("b<tweet id>") of the member on tweets with an id >= floor
                                (tweets of the last MARKS_WINDOW_DAYS when it was filled; tweet ids
                                are times, tweethub.ids), so a field missing above the floor is a "no"
                       l<id>, b<id>  "1"
    tmg:{<user id>}  the member's marks generation, incremented by every like, unlike, bookmark and
                     unbookmark after its commit

Cache-aside, rebuildable from Postgres: a page that misses the hash (no floor) fills it with ONE
query (the member's likes and bookmarks above the floor: index range scans on the unique pairs)
and stores it only if the generation is still the one read with the miss (compare-and-set, as
tweethub.badges), so a fill that read Postgres before a change can never hide it. A change after
its commit bumps the generation and, when the hash exists, sets or deletes its field (a tweet below
the floor included: harmless, never read). Tweets below the floor (a quiet feed reaching back
further, an old tweet's page) are asked of Postgres, as before. Redis down: Postgres.

The like count itself is in the tweet's card (tweets.cards, field `l`), dropped by the same commit.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import redis
from django.conf import settings
from django.db import connection
from django.utils import timezone

from tweethub.ids import id_for_time
from tweethub.redis import Role, feeds
from tweethub.redis import script as redis_script
from tweethub.rediskeys import KeyFamily
from tweets import cards
from tweets.models import Bookmark, Like

logger = logging.getLogger(__name__)

PREFIX = "tm:{"
GENERATION_PREFIX = "tmg:{"
FLOOR_FIELD = "_"
# A generation must outlive any fill in flight (one query, then one write: milliseconds).
GENERATION_SECONDS = 86_400

REDIS_KEYS = (
    KeyFamily(
        key=f"{PREFIX}<user>}}",
        role=Role.FEEDS,
        holds=(
            "a member's likes and bookmarks of tweets above a floor id (`MARKS_WINDOW_DAYS`), for the home "
            "page's script; `MARKS_CACHE_SECONDS`"
        ),
        rebuilt_by="filled from Postgres (one query) by the next home page that misses it",
        purge=True,
    ),
    KeyFamily(
        key=f"{GENERATION_PREFIX}<user>}}",
        role=Role.FEEDS,
        holds="the member's marks generation: a fill that read Postgres before a change is refused (a day)",
        rebuilt_by="n/a (a fill that finds none writes with generation 0)",
        purge=True,
    ),
)

# Which (liked, bookmarked) a member's marks say for each tweet they cover.
Known = Mapping[int, tuple[bool, bool]]


def key(user_id: int | str) -> str:
    return f"{PREFIX}{user_id}}}"


def generation_key(user_id: int | str) -> str:
    return f"{GENERATION_PREFIX}{user_id}}}"


def fields_of(tweet_ids: Iterable[Any]) -> list[str]:
    """The hash fields to read for these tweets, after the floor: like, bookmark, like, ..."""
    return [f"{kind}{tweet_id}" for tweet_id in tweet_ids for kind in ("l", "b")]


# For the home page script (timelines.store.home): reads the member's marks of the page's cards.
# Expects `marks_key`, `marks_generation_key` and `card_ids` as Lua variables; sets `marks`
# ({floor or false, like, bookmark, ...} per card id) and `marks_generation`.
MARKS_LUA = """
local marks_fields = {'_'}
for _, id in ipairs(card_ids) do
  marks_fields[#marks_fields + 1] = 'l' .. id
  marks_fields[#marks_fields + 1] = 'b' .. id
end
local marks = redis.call('HMGET', marks_key, unpack(marks_fields))
local marks_generation = redis.call('GET', marks_generation_key) or '0'
"""


@dataclass(frozen=True, slots=True)
class Read:
    """What a script read of a member's marks: the HMGET answer for `tweet_ids` (floor first) and
    the generation, to decode or fill from."""

    user_id: int
    tweet_ids: Sequence[int]
    values: Sequence[Any]
    generation: str


def decode(read: Read) -> Known | None:
    """The marks of the tweets the hash covers (id >= floor); None when there is no hash."""
    floor = read.values[0] if read.values else None
    if not floor:
        return None
    lowest = int(floor)
    known: dict[int, tuple[bool, bool]] = {}
    for index, tweet_id in enumerate(read.tweet_ids):
        if tweet_id >= lowest:
            known[tweet_id] = (bool(read.values[1 + 2 * index]), bool(read.values[2 + 2 * index]))
    return known


def floor_now() -> int:
    return id_for_time(timezone.now() - timedelta(days=settings.MARKS_WINDOW_DAYS))


_FILL_SQL = f"""
SELECT 'l', tweet_id FROM {Like._meta.db_table} WHERE user_id = %(user)s AND tweet_id >= %(floor)s
UNION ALL
SELECT 'b', tweet_id FROM {Bookmark._meta.db_table} WHERE user_id = %(user)s AND tweet_id >= %(floor)s
"""  # noqa: S608 (table names from the models, values bound)

# KEYS: the hash, the generation. ARGV: seconds, generation seen with the miss, floor, fields...
_STORE = """
if (redis.call('GET', KEYS[2]) or '0') ~= ARGV[2] then return 0 end
redis.call('DEL', KEYS[1])
local fields = {'_', ARGV[3]}
for i = 4, #ARGV do
  fields[#fields + 1] = ARGV[i]
  fields[#fields + 1] = '1'
end
redis.call('HSET', KEYS[1], unpack(fields))
redis.call('EXPIRE', KEYS[1], ARGV[1])
return 1
"""


def fill(read: Read) -> Known:
    """After a miss: the member's marks above a fresh floor from Postgres (ONE query), stored unless
    a change committed since `read.generation`; returns what they say of `read.tweet_ids` (the
    tweets below the floor are left out, for the caller to ask Postgres)."""
    floor = floor_now()
    with connection.cursor() as cursor:
        cursor.execute(_FILL_SQL, {"user": read.user_id, "floor": floor})
        rows = cursor.fetchall()
    fields = [f"{kind}{tweet_id}" for kind, tweet_id in rows]
    try:
        redis_script(feeds(), _STORE)(
            keys=[key(read.user_id), generation_key(read.user_id)],
            args=[settings.MARKS_CACHE_SECONDS, read.generation, floor, *fields],
        )
    except redis.RedisError:
        logger.warning("marks of %s: not cached", read.user_id, exc_info=True)
    present = set(fields)
    return {
        tweet_id: (f"l{tweet_id}" in present, f"b{tweet_id}" in present)
        for tweet_id in read.tweet_ids
        if tweet_id >= floor
    }


# KEYS: the hash, the generation, the tweet's card. ARGV: field, "1" to set or "" to delete,
# generation seconds, and "1" when the card's like count must go.
_CHANGED = """
redis.call('INCR', KEYS[2])
redis.call('EXPIRE', KEYS[2], ARGV[3])
if redis.call('HEXISTS', KEYS[1], '_') == 1 then
  if ARGV[2] == '1' then redis.call('HSET', KEYS[1], ARGV[1], '1') else redis.call('HDEL', KEYS[1], ARGV[1]) end
end
if ARGV[4] == '1' then redis.call('HDEL', KEYS[3], 'l') end
return 1
"""


def changed(*, user_id: int, tweet_id: int, kind: str, on: bool) -> None:
    """After the commit of a like ("l") or bookmark ("b") made (`on`) or taken back: the member's
    marks follow it, and for a like the card's count goes (refilled from Postgres by its next
    read), in one round trip. Best effort: a failure leaves the marks stale for at most
    MARKS_CACHE_SECONDS and the count for CARD_CACHE_SECONDS (logged)."""
    try:
        redis_script(feeds(), _CHANGED)(
            keys=[key(user_id), generation_key(user_id), cards.key(tweet_id)],
            args=[f"{kind}{tweet_id}", "1" if on else "", GENERATION_SECONDS, "1" if kind == "l" else ""],
        )
    except redis.RedisError:
        logger.error("could not record %s of tweet %s by %s in Redis", kind, tweet_id, user_id, exc_info=True)
