"""Opaque page cursors: what a page's `next_cursor` says and ?cursor= gives back.

Inside, the pages' own cursors (tweethub.paging): an id ("before" that id, or "after" it for the
oldest-first replies of a thread) or a ranked list's (count, user id); outside, base64url text a
client must not build or parse. The same no-gap rule as the pages, since the lists are the pages'
selectors. A malformed cursor is the client's error (422,
on the `cursor` field), never a 500."""

from __future__ import annotations

import base64
import binascii

from api.problems import Problem
from tweethub.ids import MAX_ID

# A cursor says which way it reads, so one list's cursor given to another is refused, not misread.
_ID, _AFTER, _RANKED = "i", "a", "r"


def _encode(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _decode(cursor: str) -> str:
    try:
        return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (binascii.Error, ValueError):
        raise _invalid() from None


def _invalid() -> Problem:
    message = "That cursor is not valid: pass back a next_cursor exactly as a page gave it."
    return Problem(422, message, kind="invalid", errors=[{"field": "cursor", "message": message}])


def _number(text: str, *, maximum: int) -> int:
    if not text.isascii() or not text.isdigit() or len(text) > 19 or not 0 < int(text) <= maximum:
        raise _invalid()
    return int(text)


def next_cursor(cursor: int | tuple[int, int] | None) -> str | None:
    if cursor is None:
        return None
    if isinstance(cursor, tuple):
        return _encode(f"{_RANKED}{cursor[0]}.{cursor[1]}")
    return _encode(f"{_ID}{cursor}")


def next_after(cursor: int | None) -> str | None:
    """The cursor of an oldest-first list (a thread's replies): the next page starts after this id."""
    return None if cursor is None else _encode(f"{_AFTER}{cursor}")


def after(cursor: str | None) -> int | None:
    """The id an oldest-first list continues above, None for the first page."""
    if not cursor:
        return None
    text = _decode(cursor)
    if not text.startswith(_AFTER):
        raise _invalid()
    return _number(text[1:], maximum=MAX_ID)


def before(cursor: str | None) -> int | None:
    """The id a list continues below, None for the first page."""
    if not cursor:
        return None
    text = _decode(cursor)
    if not text.startswith(_ID):
        raise _invalid()
    return _number(text[1:], maximum=MAX_ID)


def after_rank(cursor: str | None) -> tuple[int, int] | None:
    """(count, user id) where a ranked list goes on, None for the first page."""
    if not cursor:
        return None
    text = _decode(cursor)
    count, dot, user_id = text[1:].partition(".")
    if not text.startswith(_RANKED) or not dot:
        raise _invalid()
    return _number(count, maximum=2**62), _number(user_id, maximum=2**62)
