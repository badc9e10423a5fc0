"""Live delivery of home-timeline changes over the websocket (the sending side; catch-up after a
reconnect is timelines.live).

Fan-out decides who gets a tweet (the users whose feed took it, plus online followers of pull-mode
accounts, which have no feed entry); this module narrows that to users with an open socket and
sends one pre-rendered payload.
"""

from __future__ import annotations

import logging

import redis

from follows.models import Follow
from timelines.services import Fanout
from tweethub import presence
from tweethub.realtime import send_event, send_now
from tweets import rendering
from tweets.cards import TweetCard

logger = logging.getLogger(__name__)


def render_tweet(tweet: TweetCard, *, for_author: bool = False) -> str:
    """The tweet as its followers see it (with the report flag every member sees under others'
    tweets), or as its author does (no controls: the owner's forms need the page's CSRF token, the
    next page load shows them). Rendered once per kind of recipient, not per user: the same cached
    HTML as on pages (tweets.rendering), so a live tweet looks exactly like a loaded one."""
    return rendering.render_tweet(tweet, controls=None if for_author else rendering.report_control)


def new_tweet(fanout: Fanout) -> int:
    """Send a fanned-out tweet to its author's and followers' open sockets (for an account in
    pull mode, found from who is online). A large fan-out is announced in parts: its first task to
    the author, each chunk to the followers it wrote (Fanout.to_author). Returns how many users it
    was sent to."""
    tweet = fanout.tweet
    # Every follower, not only those whose feed took it: one with the site open but no feed (not
    # seen for a while, or who never opened Home) sees it arrive too. (Those whose feed took it
    # are among the followers.)
    wanted = [*fanout.followers, *([tweet.author_id] if fanout.to_author else [])]
    if fanout.pull_mode:
        # A pull-mode author reaches no follower's feed; its online followers still see the tweet
        # arrive. Start from who is online (bounded by open sockets), not from 10K+ followers.
        online = presence.online_user_ids()
        wanted += Follow.objects.filter(followee_id=tweet.author_id, follower_id__in=online).values_list(
            "follower_id", flat=True
        )
    try:
        channels = presence.channels_of(sorted(set(wanted)))  # one round trip: who is online, and where
    except (redis.RedisError, OSError):
        logger.warning("tweet %s not announced live: presence unreachable", tweet.id)
        return 0
    author_channels = channels.pop(tweet.author_id, [])
    followers = [name for names in channels.values() for name in names]
    if followers:
        send_event(event="tweet.new", payload={"id": tweet.id, "html": render_tweet(tweet)}, channels=followers)
    if author_channels:
        payload = {"id": tweet.id, "html": render_tweet(tweet, for_author=True)}
        send_event(event="tweet.new", payload=payload, channels=author_channels)
    return len(channels) + bool(author_channels)


def deleted_tweet(*, tweet_id: int, user_ids: list[int]) -> None:
    # send_now keeps those online (one presence lookup, which also gives their channels).
    send_now(event="tweet.deleted", payload={"id": tweet_id}, user_ids=user_ids)
