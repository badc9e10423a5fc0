"""Author cards: what a tweet card shows of its author, cached in the feeds Redis.

    uc:<user id>   JSON [username, name, avatar URL or "", pinned tweet id or 0], for AUTHOR_CARD_SECONDS

This module owns the key. The timeline's one-round-trip page read (timelines.store) and the card
reader (tweets.cards) fetch it by the prefix given here, in the same Redis call as the tweet rows.

A card is a copy of Postgres: filled on a miss from the user row (tweets.cards), deleted after the
commit of every service that changes what it shows or whether the author may be shown at all
(profile edit, avatar, pin and unpin, account deletion; `forget`). The TTL is the safety net for a change made
outside the services (a shell): it shows within AUTHOR_CARD_SECONDS. Losing the key loses nothing.
The raw JSON text is also what rendered tweet HTML is versioned by (tweets.rendering): a card that
changes makes every cached rendering of its author's tweets stale at once, with no scan.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence

import redis
from django.conf import settings

from accounts.models import User
from tweethub.redis import Role, feeds
from tweethub.rediskeys import KeyFamily

logger = logging.getLogger(__name__)

PREFIX = "uc:"
# On the feeds' Redis: the home page script reads cards in the same call as the feed.
REDIS_KEYS = (
    KeyFamily(
        key=f"{PREFIX}<user>",
        role=Role.FEEDS,
        holds="author card: username, name, avatar URL, pinned tweet id; `AUTHOR_CARD_SECONDS`",
        rebuilt_by="filled with the tweet cards; deleted after profile edits, pins, deletion",
        purge=True,
    ),
)


def key(user_id: int) -> str:
    return f"{PREFIX}{user_id}"


def encode(user: User, *, pinned_id: int | None) -> str:
    """The card's stored text for a user row (needs username, name and avatar loaded) and the id of
    their pinned tweet (the owner's Pin/Unpin control and the profile's "Pinned" label need it)."""
    return json.dumps([user.username, user.name, user.avatar_url, pinned_id or 0], separators=(",", ":"))


def ttl_ms() -> int:
    return settings.AUTHOR_CARD_SECONDS * 1000


def forget(*, user_ids: Sequence[int]) -> None:
    """Drop these authors' cards (after the commit that changed them): the next read refills them
    from Postgres. Best effort: if Redis refuses, the TTL bounds how long the old card shows."""
    if not user_ids:
        return
    try:
        feeds().delete(*(key(user_id) for user_id in user_ids))
    except redis.RedisError:
        logger.warning("could not drop the author cards of %s", list(user_ids), exc_info=True)
