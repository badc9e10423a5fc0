"""Page cursors: ?before=<id>. A malformed cursor is the client's mistake (400), never a 500."""

from __future__ import annotations

from django.core.exceptions import BadRequest
from django.http import HttpRequest

from tweethub.ids import MAX_ID


def before_cursor(request: HttpRequest) -> int | None:
    raw = request.GET.get("before")
    if raw is None or raw == "":
        return None
    if not raw.isascii() or not raw.isdigit() or len(raw) > 16 or not 0 < int(raw) <= MAX_ID:
        raise BadRequest("That page link is not valid.")
    return int(raw)


def after_cursor(request: HttpRequest) -> int | None:
    """?after=<id>: where a list read oldest first (a tweet's replies) goes on."""
    raw = request.GET.get("after")
    if raw is None or raw == "":
        return None
    if not raw.isascii() or not raw.isdigit() or len(raw) > 16 or not 0 < int(raw) <= MAX_ID:
        raise BadRequest("That page link is not valid.")
    return int(raw)


def rank_cursor(request: HttpRequest) -> tuple[int, int] | None:
    """?after=<count>.<user id>: where a ranked list (follows.selectors._ranked_page) goes on."""
    raw = request.GET.get("after")
    if raw is None or raw == "":
        return None
    count, _, user_id = raw.partition(".")
    if not all(part.isascii() and part.isdigit() and 0 < len(part) <= 16 for part in (count, user_id)):
        raise BadRequest("That page link is not valid.")
    return int(count), int(user_id)


def next_query(cursor: int | tuple[int, int]) -> str:
    """The query string that the readers above take back: before=<id>, or after=<count>.<user id>."""
    if isinstance(cursor, tuple):
        return "after={}.{}".format(*cursor)
    return f"before={cursor}"
