"""Thin tasks: ids in, one service call. Queued through the outbox (tweethub.outbox) by the apps
below this one, by name, in the transaction of the action: they run only after it committed and
survive a broker outage. Idempotent (notify records each event once), as the outbox requires."""

from __future__ import annotations

import redis
from celery import shared_task
from django.db import OperationalError

from notifications import services
from tweets.models import Tweet

# Transient failures (Redis or Postgres briefly away) are retried with backoff.
TRANSIENT = (ConnectionError, OSError, redis.RedisError, OperationalError)


@shared_task(autoretry_for=TRANSIENT, retry_backoff=True, max_retries=8)
def notify_task(kind: str, actor_id: int, recipient_id: int, object_id: int = 0) -> bool:
    return services.notify(kind=kind, actor_id=actor_id, recipient_id=recipient_id, object_id=object_id)


@shared_task
def badges_push_task(user_id: int) -> None:
    """Run in the web process after a conversation is read (tweethub.outbox.run_after_commit), never
    queued: the reader's other pages lower their messages badge. Best effort."""
    services.badges_push(user_id=user_id)


@shared_task(autoretry_for=TRANSIENT, retry_backoff=True, max_retries=8)
def notify_mentions_task(tweet_id: int) -> int:
    """A new tweet's mentions: each mentioned active account (never the author, nor the author a
    reply answers: their "reply" notification tells them) once."""
    tweet = Tweet.objects.filter(pk=tweet_id).values("author_id", "mentions", "reply_to_author_id").first()
    if tweet is None:
        return 0
    return services.notify_mentions(
        author_id=tweet["author_id"],
        tweet_id=tweet_id,
        usernames=list(tweet["mentions"]),
        replied_to=tweet["reply_to_author_id"],
    )
