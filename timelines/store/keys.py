"""Names of the feed and author-list keys (see timelines.store's docstring for what each holds),
and their declaration (REDIS_KEYS, see tweethub.rediskeys)."""

from __future__ import annotations

from datetime import timedelta
from enum import Enum

from django.conf import settings

from tweethub.redis import Role
from tweethub.rediskeys import KeyFamily


class Kind(Enum):
    """Which sorted set of someone's: their home feed, or the list of their own tweets."""

    HOME = "tl"
    AUTHOR = "at"


# The four keys of a feed or author list: "" the sorted set (its floor inside, see FLOOR_MEMBER),
# then buffer, rebuild lock and rebuild request; each is the kind's prefix + this letter + ":{<user>}".
_LIST, _BUFFER, _LOCK, _REQUEST = "", "b", "r", "q"

# The member of a feed's sorted set whose score is the feed's floor. Every id the feed holds is
# above the floor, so it is always the lowest member (rank 0), ZSCORE reads the floor, readers
# asking for scores above the floor never see it, and the set exists exactly as long as the feed
# does, empty or not. Not a number, so no tweet id can collide with it.
FLOOR_MEMBER = "f"


def _key(part: str, kind: Kind, user: int | str) -> str:
    return f"{kind.value}{part}:{{{user}}}"


def feed_prefix(kind: Kind = Kind.HOME) -> str:
    """A feed key before its {user} tag (the home page script builds the author lists' keys)."""
    return f"{kind.value}{_LIST}:"


def buffer_prefix(kind: Kind = Kind.HOME) -> str:
    return f"{kind.value}{_BUFFER}:"


def feed_key(user_id: int, kind: Kind = Kind.HOME) -> str:
    return _key(_LIST, kind, user_id)


def buffer_key(user_id: int, kind: Kind = Kind.HOME) -> str:
    return _key(_BUFFER, kind, user_id)


def lock_key(user_id: int, kind: Kind = Kind.HOME) -> str:
    return _key(_LOCK, kind, user_id)


def request_key(user_id: int, kind: Kind = Kind.HOME) -> str:
    return _key(_REQUEST, kind, user_id)


def user_of_feed_key(key: bytes, kind: Kind = Kind.HOME) -> int:
    """The user id in a feed key (`tl:{42}` -> 42)."""
    return int(key[len(feed_prefix(kind)) + 1 : -1])


def feed_ttl_ms() -> int:
    """Feeds live a day less than the activity window (see the module docstring)."""
    return int(timedelta(days=max(settings.ACTIVE_DAYS - 1, 0.5)).total_seconds() * 1000)


def _families(kind: Kind, user: str, *, role: Role, holds: str, rebuilt_by: str) -> tuple[KeyFamily, ...]:
    parts = (
        (_LIST, holds, rebuilt_by),
        (_BUFFER, "its rebuild buffer (only during a rebuild, 120 s TTL)", "n/a"),
        (_LOCK, "its rebuild lock (120 s)", "n/a"),
        (_REQUEST, "its rebuild-request throttle (30 s)", "n/a"),
    )
    # Purged: every one is rebuilt from Postgres on the next read, and would hold purged ids.
    return tuple(
        KeyFamily(key=_key(part, kind, user), role=role, holds=what, rebuilt_by=rebuilt, purge=True)
        for part, what, rebuilt in parts
    )


# Home feeds are what the fan-out writes, so they are sharded (tweethub.redis.feed_shards); author
# lists get one write per tweet and are read with the tweet cards, so they stay beside them.
HOME_KEYS = _families(
    Kind.HOME,
    "<user>",
    role=Role.FEED_SHARDS,
    holds=(
        "home feed: sorted set of up to TIMELINE_LENGTH + TIMELINE_TRIM_SLACK tweet ids (score = id) and the "
        f"member `{FLOOR_MEMBER}` whose score is its floor"
    ),
    rebuilt_by="`feed_rebuild` on the next read; pages come from SQL meanwhile",
)
AUTHOR_KEYS = _families(
    Kind.AUTHOR,
    "<author>",
    role=Role.FEEDS,
    holds="author list of a pull-mode account: its newest tweet ids above a floor (member `f`), same rules as a feed",
    rebuilt_by="`author_list_rebuild` (queued by the first reader that misses it); pages merge from SQL meanwhile",
)
REDIS_KEYS = HOME_KEYS + AUTHOR_KEYS
# The home feeds' sorted sets: one per feed that exists (what the census counts).
HOME_FEEDS = HOME_KEYS[0]
