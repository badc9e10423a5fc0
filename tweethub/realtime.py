"""The one module that publishes realtime events to browsers.

Services decide who receives what (that is a security decision) and call `publish`; consumers only
authenticate, register under their own user and forward. Events go out after the surrounding
transaction commits, so a browser never hears of a row that a rollback then removed.

An event is ONE Redis PUBLISH naming its recipients, whatever their number; each web process hears
it once and hands it to its own sockets of those users (tweethub.livehub says why).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from typing import Any

import redis
from django.db import transaction

from tweethub.livehub import CHANNEL
from tweethub.redis import channels

logger = logging.getLogger(__name__)


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
    if not user_ids:
        return
    message = json.dumps({"event": event, "payload": payload, "to": user_ids}, separators=(",", ":"))
    try:
        channels().publish(CHANNEL, message)
    except (redis.RedisError, OSError):
        logger.warning("live event %s not delivered to %d users: channel layer unreachable", event, len(user_ids))
