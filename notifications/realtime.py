"""Websocket message `badges.get`: a page asks for its badge counts when its socket (re)connects,
since pushes (notifications.services.badges_push) may have gone out while it was away. The answer
is the asking member's own counts; the message carries nothing to choose anyone else's."""

from __future__ import annotations

from typing import Any

from channels.db import database_sync_to_async

from accounts.consumers import handles
from notifications.selectors import badge_counts
from notifications.services import EVENT_BADGES


def current(user: Any, content: dict[str, Any]) -> dict[str, Any]:
    return {"event": EVENT_BADGES, "payload": badge_counts(user.pk).as_payload()}


@handles("badges.get")
async def handle_get(user: Any, content: dict[str, Any]) -> dict[str, Any]:
    reply: dict[str, Any] = await database_sync_to_async(current)(user, content)
    return reply
