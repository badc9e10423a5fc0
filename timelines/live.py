"""Catch-up after a reconnect: the socket side of live home timelines (sending them is
timelines.announce, called by the fan-out tasks).

A reconnecting client asks for what it missed since its newest tweet; the answer comes from the
same read path as the page, so it is right by construction.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import redis
from channels.db import database_sync_to_async

from accounts.consumers import handles
from timelines import store
from timelines.selectors import home_timeline
from timelines.tasks import feed_rebuild_task
from tweethub.ids import MAX_ID, SEQUENCE_BITS
from tweets import rendering
from tweets.cards import TweetCard

logger = logging.getLogger(__name__)

# Most tweets a catch-up returns; a client away longer reloads the page instead.
CATCH_UP_LIMIT = 50
# Ids are taken at insert time but become visible at commit, so a tweet committed a moment late can
# carry an id just below the newest one a client has. Catch-up looks this far back (in id space)
# and the client ignores ids it already shows.
CATCH_UP_GRACE_IDS = int(timedelta(seconds=10).total_seconds() * 1000) << SEQUENCE_BITS


def _queue_feed_rebuild(user_id: int) -> None:
    """As the home page does (timelines.views): a page open through a Redis flush has no feed, so
    fan-out passes it by until the feed is rebuilt; its catch-up after the reconnect asks for it."""
    try:
        if store.claim_rebuild_request(user_id=user_id):
            feed_rebuild_task.delay(user_id)
    except (redis.RedisError, OSError):
        logger.warning("could not queue a feed rebuild for %s", user_id, exc_info=True)


def catch_up(*, user_id: int, after: int) -> list[dict[str, Any]]:
    """Tweets of the user's home timeline newer than (after - grace), oldest first, rendered. A
    missing feed is served from SQL and its rebuild queued."""
    page = home_timeline(user_id=user_id, before=None, limit=CATCH_UP_LIMIT, on_missing_feed=_queue_feed_rebuild)
    floor = max(after - CATCH_UP_GRACE_IDS, 0)
    missed = [tweet for tweet in reversed(page.items) if tweet.entry > floor]

    def controls(card: TweetCard) -> str:  # as on the page: the flag under others' tweets
        return "" if card.author_id == user_id else rendering.member_controls(card)

    rendered = rendering.render_tweets(missed, controls=controls)
    return [{"id": tweet.entry, "html": html} for tweet, html in zip(missed, rendered, strict=True)]


@handles("catch_up")
async def handle_catch_up(user: Any, content: dict[str, Any]) -> dict[str, Any]:
    """Client message {"type": "catch_up", "after": <newest tweet id it shows>}."""
    raw = content.get("after")
    after = raw if isinstance(raw, int) and not isinstance(raw, bool) and 0 <= raw <= MAX_ID else 0
    tweets = await database_sync_to_async(catch_up)(user_id=user.pk, after=after)
    return {"event": "tweet.catch_up", "payload": {"tweets": tweets}}
