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


# The five keys of a feed or author list: "" the sorted set, then floor, buffer, rebuild lock and
# rebuild request; each is the kind's prefix + this letter + ":{<user id>}".
_LIST, _FLOOR, _BUFFER, _LOCK, _REQUEST = "", "f", "b", "r", "q"


def _key(part: str, kind: Kind, user: int | str) -> str:
    return f"{kind.value}{part}:{{{user}}}"


def feed_prefix(kind: Kind = Kind.HOME) -> str:
    """A feed key before its {user} tag (the home page script builds the author lists' keys)."""
    return f"{kind.value}{_LIST}:"


def floor_prefix(kind: Kind = Kind.HOME) -> str:
    return f"{kind.value}{_FLOOR}:"


def feed_key(user_id: int, kind: Kind = Kind.HOME) -> str:
    return _key(_LIST, kind, user_id)


def floor_key(user_id: int, kind: Kind = Kind.HOME) -> str:
    return _key(_FLOOR, kind, user_id)


def buffer_key(user_id: int, kind: Kind = Kind.HOME) -> str:
    return _key(_BUFFER, kind, user_id)


def lock_key(user_id: int, kind: Kind = Kind.HOME) -> str:
    return _key(_LOCK, kind, user_id)


def request_key(user_id: int, kind: Kind = Kind.HOME) -> str:
    return _key(_REQUEST, kind, user_id)


def user_of_floor_key(key: bytes, kind: Kind = Kind.HOME) -> int:
    """The user id in a floor key (`tlf:{42}` -> 42)."""
    return int(key[len(floor_prefix(kind)) + 1 : -1])


def feed_ttl_ms() -> int:
    """Feeds live a day less than the activity window (see the module docstring)."""
    return int(timedelta(days=max(settings.ACTIVE_DAYS - 1, 0.5)).total_seconds() * 1000)


def _families(kind: Kind, user: str, *, holds: str, rebuilt_by: str) -> tuple[KeyFamily, ...]:
    parts = (
        (_LIST, holds, rebuilt_by),
        (_FLOOR, "its floor; its existence = the list exists", "with the list"),
        (_BUFFER, "its rebuild buffer (only during a rebuild, 120 s TTL)", "n/a"),
        (_LOCK, "its rebuild lock (120 s)", "n/a"),
        (_REQUEST, "its rebuild-request throttle (30 s)", "n/a"),
    )
    # Purged: every one is rebuilt from Postgres on the next read, and would hold purged ids.
    return tuple(
        KeyFamily(key=_key(part, kind, user), role=Role.FEEDS, holds=what, rebuilt_by=rebuilt, purge=True)
        for part, what, rebuilt in parts
    )


HOME_KEYS = _families(
    Kind.HOME,
    "<user>",
    holds="home feed: sorted set of up to TIMELINE_LENGTH + TIMELINE_TRIM_SLACK tweet ids (score = id)",
    rebuilt_by="`feed_rebuild` on the next read; pages come from SQL meanwhile",
)
AUTHOR_KEYS = _families(
    Kind.AUTHOR,
    "<author>",
    holds="author list of a pull-mode account: its newest tweet ids above a floor, same rules as a feed",
    rebuilt_by="`author_list_rebuild` (queued by the first reader that misses it); pages merge from SQL meanwhile",
)
REDIS_KEYS = HOME_KEYS + AUTHOR_KEYS
# The floor keys of home feeds: one per feed that exists (what the census counts).
HOME_FLOORS = HOME_KEYS[1]
