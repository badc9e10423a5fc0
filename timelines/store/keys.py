"""Names of the feed and author-list keys (see timelines.store's docstring for what each holds)."""

from __future__ import annotations

from datetime import timedelta
from enum import Enum

from django.conf import settings


class Kind(Enum):
    """Which sorted set of someone's: their home feed, or the list of their own tweets."""

    HOME = "tl"
    AUTHOR = "at"


def feed_key(user_id: int, kind: Kind = Kind.HOME) -> str:
    return f"{kind.value}:{{{user_id}}}"


def floor_key(user_id: int, kind: Kind = Kind.HOME) -> str:
    return f"{kind.value}f:{{{user_id}}}"


def buffer_key(user_id: int, kind: Kind = Kind.HOME) -> str:
    return f"{kind.value}b:{{{user_id}}}"


def lock_key(user_id: int, kind: Kind = Kind.HOME) -> str:
    return f"{kind.value}r:{{{user_id}}}"


def request_key(user_id: int, kind: Kind = Kind.HOME) -> str:
    return f"{kind.value}q:{{{user_id}}}"


def feed_ttl_ms() -> int:
    """Feeds live a day less than the activity window (see the module docstring)."""
    return int(timedelta(days=max(settings.ACTIVE_DAYS - 1, 0.5)).total_seconds() * 1000)
