"""Page cursors: ?before=<id>. A malformed cursor is the client's mistake (400), never a 500."""

from __future__ import annotations

from django.core.exceptions import BadRequest
from django.http import HttpRequest

from tweets.ids import MAX_ID


def before_cursor(request: HttpRequest) -> int | None:
    raw = request.GET.get("before")
    if raw is None or raw == "":
        return None
    if not raw.isascii() or not raw.isdigit() or len(raw) > 16 or not 0 < int(raw) <= MAX_ID:
        raise BadRequest("That page link is not valid.")
    return int(raw)
