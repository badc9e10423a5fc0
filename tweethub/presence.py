"""Who has an open websocket right now: a Redis set of user ids with per-user socket counts.

Fan-out uses it to send live events only to users who can receive them (a 100K-follower fan-out
must not become 100K channel-layer sends), and the admin panel counts open connections with it.
Rebuildable by nature: sockets re-register when they reconnect.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

from tweethub.redis import feeds

ONLINE = "ws:online"  # sorted set: user id -> number of open sockets


def connected(user_id: int) -> None:
    feeds().zincrby(ONLINE, 1, str(user_id))


def disconnected(user_id: int) -> None:
    client = feeds()
    remaining = float(client.zincrby(ONLINE, -1, str(user_id)) or 0)
    if remaining <= 0:
        client.zrem(ONLINE, str(user_id))


def online_among(user_ids: Sequence[int]) -> list[int]:
    """The subset of `user_ids` with at least one open socket, in one round trip."""
    if not user_ids:
        return []
    scores = feeds().zmscore(ONLINE, [str(user_id) for user_id in user_ids])
    return [user_id for user_id, score in zip(user_ids, scores, strict=True) if score and score > 0]


def online_user_ids() -> list[int]:
    return [int(member) for member in cast(list[bytes], feeds().zrange(ONLINE, 0, -1))]


def open_sockets() -> int:
    """Open websocket connections across all web processes."""
    pairs = cast(list[tuple[bytes, float]], feeds().zrange(ONLINE, 0, -1, withscores=True))
    return int(sum(score for _, score in pairs))
