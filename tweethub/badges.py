"""The unread badges in the nav and the count in the page title: their numbers, cached in Redis.

The badges are on every page a member opens, so their numbers must not cost a query per page
(issue 15: a warm home page makes no SQL query). They are a cache-aside copy of Postgres on the
cache Redis, read in the session's own round trip (accounts.authcache.read_session gathers the
key with the session and the user's row), so a warm page pays nothing for them:

    ub:{<user id>}   "<unread notification groups>,<unread conversations>" (each capped past
                     BADGE_CAP), for UNREAD_BADGES_CACHE_SECONDS
    ubg:{<user id>}  the user's badge generation, incremented by every `forget`

On a miss the counts are taken from Postgres ONCE (the counter the notifications app registers,
`set_counter`: one capped statement) and stored, unless a change was committed meanwhile (the
generation moved: compare-and-set, as accounts.authcache does for user rows), so a fill that
read Postgres before a change can never write the old numbers back after it.

Every write that changes an unread count calls `forget_after_commit` for the people whose counts
moved: a notification written or marked read (notifications.services), a direct message sent (its
sender's side is read, its recipient's not) or a conversation read (messaging.services), a block,
mute or their undoing (follows.services: the badge leaves out the groups of hidden accounts, as the
notifications page does). The TTL bounds what a lost `forget` (Redis away at that commit) costs.

tweethub is the bottom layer, so it cannot import the app that counts (notifications); that app
registers its counting function here when it starts (notifications.apps). Redis down: the counts
come from Postgres on every page (one query), nothing else changes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import redis
from django.conf import settings
from django.db import transaction

from tweethub.redis import Role
from tweethub.redis import cache as cache_redis
from tweethub.redis import script as redis_script
from tweethub.rediskeys import KeyFamily

logger = logging.getLogger(__name__)

PREFIX = "ub:{"
GENERATION_PREFIX = "ubg:{"
# A generation must outlive any fill in flight (count in Postgres, then write Redis: milliseconds).
GENERATION_SECONDS = 86_400
# Above this many unread, a badge says "99+" (and the count stops reading rows).
BADGE_CAP = 99

REDIS_KEYS = (
    KeyFamily(
        key=f"{PREFIX}<user>}}",
        role=Role.CACHE,
        holds="the unread badges: notification groups and conversations (`UNREAD_BADGES_CACHE_SECONDS`)",
        rebuilt_by="counted in Postgres (one capped query) by the next page that misses it",
        purge=True,
    ),
    KeyFamily(
        key=f"{GENERATION_PREFIX}<user>}}",
        role=Role.CACHE,
        holds="the user's badge generation: a fill that read Postgres before a change is refused (a day)",
        rebuilt_by="n/a (a fill that finds none writes with generation 0)",
    ),
)


@dataclass(frozen=True, slots=True)
class Counts:
    notifications: int  # unread notification groups (direct messages left out: they have their own)
    messages: int  # conversations with a message the member has not read

    @staticmethod
    def label(count: int) -> str:
        return "" if count <= 0 else ("99+" if count > BADGE_CAP else str(count))

    @property
    def notifications_label(self) -> str:
        return self.label(self.notifications)

    @property
    def messages_label(self) -> str:
        return self.label(self.messages)

    @property
    def total(self) -> int:
        return self.notifications + self.messages

    def as_payload(self) -> dict[str, int | str]:
        return {
            "notifications": self.notifications,
            "messages": self.messages,
            "notifications_label": self.notifications_label,
            "messages_label": self.messages_label,
            "title_label": self.label(self.total),
        }


@dataclass(frozen=True, slots=True)
class Prefetch:
    """What a round trip made for something else (the session's) read of the key: the stored value
    ("" when missing) and the generation to fill it with on a miss."""

    user_id: int
    raw: str
    generation: str


def key(user_id: int | str) -> str:
    return f"{PREFIX}{user_id}}}"


def generation_key(user_id: int | str) -> str:
    return f"{GENERATION_PREFIX}{user_id}}}"


_counter: Callable[[int], Counts] | None = None


def set_counter(counter: Callable[[int], Counts]) -> None:
    """Register the Postgres count (notifications.selectors.badge_counts_from_db)."""
    global _counter
    _counter = counter


def _count(user_id: int) -> Counts:
    if _counter is None:
        return Counts(notifications=0, messages=0)
    return _counter(user_id)


def encode(counts: Counts) -> str:
    return f"{counts.notifications},{counts.messages}"


def decode(raw: str) -> Counts | None:
    try:
        notifications, messages = raw.split(",")
        return Counts(notifications=int(notifications), messages=int(messages))
    except ValueError:  # an older or damaged value: refilled like a miss
        return None


# KEYS: the counts, the generation. Returns the counts or "", and the generation (a damaged value
# is refilled like a miss, so the generation is always wanted).
_READ = """
return {redis.call('GET', KEYS[1]) or '', redis.call('GET', KEYS[2]) or '0'}
"""

# KEYS: the counts, the generation. ARGV: value, seconds, the generation seen before Postgres was read.
_STORE = """
if (redis.call('GET', KEYS[2]) or '0') ~= ARGV[3] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
return 1
"""


def _text(part: Any) -> str:
    return part.decode() if isinstance(part, bytes) else str(part)


def counts(user_id: int, prefetched: Prefetch | None = None) -> Counts:
    """The member's badge counts: from `prefetched` when it holds them (no round trip), else one
    round trip to read them; on a miss one query and one round trip to store them (refused when a
    change committed since the generation was read). Redis down: the query."""
    raw, generation = "", "0"
    if prefetched is not None and prefetched.user_id == user_id:
        raw, generation = prefetched.raw, prefetched.generation
    else:
        try:
            reply = redis_script(cache_redis(), _READ)(keys=[key(user_id), generation_key(user_id)])
            raw, generation = _text(reply[0]), _text(reply[1])
        except (redis.RedisError, OSError):
            logger.warning("badge counts of %s: cache unreadable", user_id, exc_info=True)
            return _count(user_id)
    cached = decode(raw) if raw else None
    if cached is not None:
        return cached
    fresh = _count(user_id)
    try:
        redis_script(cache_redis(), _STORE)(
            keys=[key(user_id), generation_key(user_id)],
            args=[encode(fresh), settings.UNREAD_BADGES_CACHE_SECONDS, generation],
        )
    except (redis.RedisError, OSError):
        logger.warning("badge counts of %s: not cached", user_id, exc_info=True)
    return fresh


def forget(*, user_ids: Iterable[int]) -> None:
    """Drop the cached counts and bump the generations (a fill in flight then cannot write older
    counts back). Best effort: a failure is logged; the counts are stale for at most the TTL."""
    ids = sorted(set(user_ids))
    if not ids:
        return
    try:
        with cache_redis().pipeline(transaction=True) as pipe:
            for user_id in ids:
                pipe.incr(generation_key(user_id))
                pipe.expire(generation_key(user_id), GENERATION_SECONDS)
                pipe.delete(key(user_id))
            pipe.execute()
    except (redis.RedisError, OSError):
        logger.error("could not drop the badge counts of %s; stale for up to UNREAD_BADGES_CACHE_SECONDS", ids)


def forget_after_commit(*, user_ids: Iterable[int]) -> None:
    """`forget` once the current transaction commits (at once in autocommit): before the commit, a
    fill would still count the old rows."""
    ids = list(user_ids)
    transaction.on_commit(lambda: forget(user_ids=ids), robust=True)


_ATTRIBUTE = "_tweethub_badges"


def for_request(request: Any) -> Counts | None:
    """The badge counts of the member making `request`, None for a visitor. Asked at most once per
    request (the header and the title share the answer). The session store's read of this request
    (accounts.sessions) already brought the cached counts when it could (`badges_read`)."""
    if request is None:
        return None
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return None
    found: Counts | None = getattr(request, _ATTRIBUTE, None)
    if found is None:
        prefetched = getattr(getattr(request, "session", None), "badges_read", None)
        found = counts(user.pk, prefetched if isinstance(prefetched, Prefetch) else None)
        setattr(request, _ATTRIBUTE, found)
    return found
