"""Live delivery of home-timeline changes over the websocket, and catch-up after a reconnect.

Fan-out decides who gets a tweet (the users whose feed took it, plus online followers of pull-mode
accounts, which have no feed entry); this module narrows that to users with an open socket and
sends one pre-rendered payload. A reconnecting client asks for what it missed since its newest
tweet; the answer comes from the same read path as the page, so it is right by construction.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import redis
from channels.db import database_sync_to_async

from follows.models import Follow
from timelines import store
from timelines.selectors import home_timeline
from timelines.services import Fanout
from tweethub import presence
from tweethub.consumers import handles
from tweethub.ids import MAX_ID, SEQUENCE_BITS
from tweethub.realtime import send_now
from tweets import rendering
from tweets.cards import TweetCard

logger = logging.getLogger(__name__)

# Most tweets a catch-up returns; a client away longer reloads the page instead.
CATCH_UP_LIMIT = 50
# Ids are taken at insert time but become visible at commit, so a tweet committed a moment late can
# carry an id just below the newest one a client has. Catch-up looks this far back (in id space)
# and the client ignores ids it already shows.
CATCH_UP_GRACE_IDS = int(timedelta(seconds=10).total_seconds() * 1000) << SEQUENCE_BITS


def render_tweet(tweet: TweetCard, *, for_author: bool = False) -> str:
    """The tweet as its followers see it (with the report flag every member sees under others'
    tweets), or as its author does (no controls: the owner's forms need the page's CSRF token, the
    next page load shows them). Rendered once per kind of recipient, not per user: the same cached
    HTML as on pages (tweets.rendering), so a live tweet looks exactly like a loaded one."""
    return rendering.render_tweet(tweet, controls=None if for_author else rendering.report_control)


def announce_new_tweet(fanout: Fanout) -> int:
    """Send a fanned-out tweet to the online users among those it reached (and, for an account in
    pull mode, its online followers). Returns how many users it was sent to."""
    tweet = fanout.tweet
    recipients = set(presence.online_among([*fanout.reached, tweet.author_id]))
    if fanout.pull_mode:
        # A pull-mode author reaches no follower's feed; its online followers still see the tweet
        # arrive. Start from who is online (bounded by open sockets), not from 10K+ followers.
        online = presence.online_user_ids()
        recipients |= set(
            Follow.objects.filter(followee_id=tweet.author_id, follower_id__in=online).values_list(
                "follower_id", flat=True
            )
        )
    followers = sorted(recipients - {tweet.author_id})
    if followers:
        send_now(event="tweet.new", payload={"id": tweet.id, "html": render_tweet(tweet)}, user_ids=followers)
    if tweet.author_id in recipients:
        payload = {"id": tweet.id, "html": render_tweet(tweet, for_author=True)}
        send_now(event="tweet.new", payload=payload, user_ids=[tweet.author_id])
    return len(recipients)


def announce_deleted_tweet(*, tweet_id: int, user_ids: list[int]) -> None:
    online = presence.online_among(user_ids)
    if online:
        send_now(event="tweet.deleted", payload={"id": tweet_id}, user_ids=online)


def _queue_feed_rebuild(user_id: int) -> None:
    """As the home page does (timelines.views): a page open through a Redis flush has no feed, so
    fan-out passes it by until the feed is rebuilt; its catch-up after the reconnect asks for it."""
    from timelines.tasks import feed_rebuild_task  # here: timelines.tasks imports this module

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
    missed = [tweet for tweet in reversed(page.items) if tweet.id > floor]

    def controls(card: TweetCard) -> str:  # as on the page: the flag under others' tweets
        return "" if card.author_id == user_id else rendering.report_control(card)

    rendered = rendering.render_tweets(missed, controls=controls)
    return [{"id": tweet.id, "html": html} for tweet, html in zip(missed, rendered, strict=True)]


@handles("catch_up")
async def handle_catch_up(user: Any, content: dict[str, Any]) -> dict[str, Any]:
    """Client message {"type": "catch_up", "after": <newest tweet id it shows>}."""
    raw = content.get("after")
    after = raw if isinstance(raw, int) and not isinstance(raw, bool) and 0 <= raw <= MAX_ID else 0
    tweets = await database_sync_to_async(catch_up)(user_id=user.pk, after=after)
    return {"event": "tweet.catch_up", "payload": {"tweets": tweets}}
