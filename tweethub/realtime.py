"""The one module that publishes realtime events to browsers.

Services decide who receives what (that is a security decision) and call `publish`; consumers only
authenticate, join their own group and forward. Events go out after the surrounding transaction
commits, so a browser never hears of a row that a rollback then removed.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

import redis
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

EVENT_MESSAGE_TYPE = "realtime.event"
logger = logging.getLogger(__name__)


def group_for(user_id: int) -> str:
    """Each user's private group; only that user's own authenticated sockets join it."""
    return f"user.{user_id}"


def publish(*, event: str, payload: dict[str, Any], user_ids: Iterable[int]) -> None:
    """Send `event` to every open socket of each user in `user_ids` once the transaction commits."""
    recipients = sorted(set(user_ids))
    if recipients:
        transaction.on_commit(lambda: send_now(event=event, payload=payload, user_ids=recipients))


def send_now(*, event: str, payload: dict[str, Any], user_ids: list[int]) -> None:
    """Send immediately (callers outside a transaction, e.g. fan-out tasks after their writes).

    Best effort by design: the data is already committed in Postgres, and pages catch up from it
    on reconnect or reload. An unreachable channel layer is logged, never raised into the caller
    (which may be an on_commit hook whose user already succeeded).
    """
    layer = get_channel_layer()
    if layer is None:
        return
    message = {"type": EVENT_MESSAGE_TYPE, "event": event, "payload": payload}

    async def send_all() -> None:
        for user_id in user_ids:
            await layer.group_send(group_for(user_id), message)

    try:
        async_to_sync(send_all)()
    except (redis.RedisError, OSError, ConnectionError):
        logger.warning("live event %s not delivered to %d users: channel layer unreachable", event, len(user_ids))
