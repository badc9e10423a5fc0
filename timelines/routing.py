"""The Celery router for fan-outs (named in settings.CELERY_TASK_ROUTES, before the map by task name
of tweethub.queues): a new tweet's fan-out goes to the `fanout` queue when its author has at most
FANOUT_LARGE_THRESHOLD followers, to `fanout_large` otherwise, decided as the task is published
(after the tweet's commit, or by the outbox relay).

The count is the author's exact follower count (accounts.selectors.stats_for: the folded counter
plus its shards), two primary-key reads, no scan of the follows. A stale or unreadable count only
picks the other queue: the task itself reads the followers again and splits a large audience into
chunks whichever queue it ran on (timelines.services.fanout_tweet), so a wrong guess costs a queue
hop, never a missed feed.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection, transaction

from accounts.selectors import stats_for
from tweethub import queues
from tweets.models import Tweet

logger = logging.getLogger(__name__)

FANOUT_TASK = "timelines.tasks.fanout_tweet_task"


def author_followers(*, tweet_id: int) -> int | None:
    """The exact follower count of the tweet's author (None: the tweet is gone): two primary-key
    reads (the tweet's author; the folded count plus its shards, accounts.selectors)."""
    author_id = Tweet.objects.filter(pk=tweet_id).values_list("author_id", flat=True).first()
    return None if author_id is None else int(stats_for(author_id).followers)


def queue_for_fanout(*, tweet_id: int) -> str:
    """`fanout_large` for an author above FANOUT_LARGE_THRESHOLD followers, else `fanout`."""
    try:
        if connection.in_atomic_block:
            # The relay publishes inside its own transaction: a failed read must not poison it.
            with transaction.atomic():
                followers = author_followers(tweet_id=tweet_id)
        else:
            followers = author_followers(tweet_id=tweet_id)
    except DatabaseError:
        # Publishing must not fail for this (the outbox would keep the row and retry for nothing):
        # the small queue, where the task still sends a large audience on in chunks.
        logger.warning("fan-out of tweet %s routed without its follower count", tweet_id, exc_info=True)
        return queues.FANOUT
    if followers is not None and followers > settings.FANOUT_LARGE_THRESHOLD:
        return queues.FANOUT_LARGE
    return queues.FANOUT


def route(name: str, args: Any, kwargs: Any, options: Any, task: Any = None, **_: Any) -> dict[str, str] | None:
    """Celery's router signature; None for every other task (the map by name routes them)."""
    if name != FANOUT_TASK:
        return None
    tweet_id = args[0] if args else (kwargs or {}).get("tweet_id")
    if tweet_id is None:
        return None
    return {"queue": queue_for_fanout(tweet_id=int(tweet_id))}
