"""The one module that sends realtime events to browsers.

Services decide who receives what (that is a security decision) and call `publish`; consumers only
authenticate, register under their own user and forward. Events go out after the surrounding
transaction commits, so a browser never hears of a row that a rollback then removed.

An event is addressed to the channels of its recipients' open sockets (tweethub.presence), sent
through the channel layer bundled per web process (tweethub.channel_layer): one message per process
that holds a recipient, whatever their number. Channels a send could not reach (their process's
inbox was full) are recorded, and their sockets told to catch up by their process's next sweep
(tweethub.livesockets): nothing is silently lost.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any, cast

import redis
from channels.layers import get_channel_layer
from django.db import transaction

from tweethub import presence
from tweethub.channel_layer import RoutedRedisChannelLayer
from tweethub.livesockets import record_missed, session_group

logger = logging.getLogger(__name__)


def layer() -> RoutedRedisChannelLayer:
    return cast(RoutedRedisChannelLayer, get_channel_layer())


def publish(*, event: str, payload: dict[str, Any], user_ids: Iterable[int]) -> None:
    """Send `event` to every open socket of each user in `user_ids` once the transaction commits."""
    recipients = sorted(set(user_ids))
    if recipients:
        transaction.on_commit(lambda: send_now(event=event, payload=payload, user_ids=recipients))


def send_now(*, event: str, payload: dict[str, Any], user_ids: list[int]) -> int:
    """Send immediately (callers outside a transaction, e.g. fan-out tasks after their writes);
    returns how many sockets it was addressed to.

    Best effort by design: the data is already committed in Postgres, and pages catch up from it
    on reconnect or reload. An unreachable channel layer is logged, never raised into the caller
    (which may be an on_commit hook whose user already succeeded).
    """
    if not user_ids:
        return 0
    try:
        channels = [name for names in presence.channels_of(user_ids).values() for name in names]
    except (redis.RedisError, OSError):
        logger.warning("live event %s not delivered to %d users: presence unreachable", event, len(user_ids))
        return 0
    return send_event(event=event, payload=payload, channels=channels)


def send_event(*, event: str, payload: dict[str, Any], channels: list[str]) -> int:
    """Send to these channels (presence.channels_of gave them), best effort as send_now."""
    try:
        return send_to(channels, {"type": "live.event", "event": event, "payload": payload})
    except (redis.RedisError, OSError):
        logger.warning("live event %s not delivered to %d sockets: channel layer unreachable", event, len(channels))
        return 0


def send_to(channels: list[str], message: dict[str, Any]) -> int:
    """Send a channel-layer message to these channels; the unreachable ones are told to catch up."""
    if not channels:
        return 0
    missed = layer().send_to_channels_sync(channels, message)
    if missed:
        logger.warning("live: %d of %d channels unreachable (inbox full)", len(missed), len(channels))
        record_missed(missed)
    return len(channels)


def sessions_ended(
    *,
    ended: Iterable[str] = (),
    moved: Iterable[str] = (),
    user_id: int | None = None,
    keep: str | None = None,
) -> None:
    """Close, in every web process, the sockets opened with the `ended` session keys (4401) or
    the `moved` ones (1012: reconnect with the new key), and, given `user_id`, every socket of that
    user but those opened with `keep`. Call after the sessions are deleted.

    Best effort, like every live event: a failure is logged, and the sockets still close at their
    next message or the next sweep, which find the session gone."""
    try:
        for key, reconnect in [*((key, False) for key in ended), *((key, True) for key in moved)]:
            members = layer().group_channels_sync(session_group(key))
            send_to(members, {"type": "session.end", "reconnect": reconnect})
        if user_id is not None:
            channels = presence.channels_of([user_id]).get(user_id, [])
            keep_group = session_group(keep) if keep else None
            send_to(channels, {"type": "session.end", "reconnect": False, "keep": keep_group})
    except (redis.RedisError, OSError):
        logger.warning("sessions ended, but the web processes were not told (sweep closes their sockets)")
