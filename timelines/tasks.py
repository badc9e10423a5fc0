"""Thin Celery tasks: ids in, one service call. All idempotent; acks_late redelivers a task whose
worker died, so each may run twice, which the services make harmless."""

from __future__ import annotations

import redis
from celery import shared_task
from django.db import OperationalError

from timelines import announce, pacing, services, store
from tweethub import metrics

# Transient failures (Redis or Postgres briefly away) are retried with backoff.
TRANSIENT = (ConnectionError, OSError, redis.RedisError, OperationalError)


@shared_task(autoretry_for=TRANSIENT, retry_backoff=True, max_retries=8)
def fanout_tweet_task(tweet_id: int) -> int:
    """Routed to `fanout` or `fanout_large` by the author's follower count (timelines.routing)."""
    fanout = services.fanout_tweet(tweet_id=tweet_id)
    if fanout is None:
        return 0
    if not fanout.chunks:
        # A chunked fan-out is measured by its chunks, each one sample (commit to its last feed).
        metrics.record_fanout(created_at=fanout.tweet.created_at, recipients=len(fanout.reached))
    announce.new_tweet(fanout)
    return len(fanout.reached)


@shared_task(autoretry_for=TRANSIENT, retry_backoff=True, max_retries=8)
def fanout_chunk_task(tweet_id: int, after: int, upto: int) -> int:
    """One follower range (after, upto] of a large fan-out (upto 0: no bound), on `fanout_large`."""
    fanout = services.fanout_chunk(tweet_id=tweet_id, after=after, upto=upto)
    if fanout is None:
        return 0
    metrics.record_fanout(created_at=fanout.tweet.created_at, recipients=len(fanout.reached))
    announce.new_tweet(fanout)
    return len(fanout.reached)


@shared_task
def feed_push_own_task(tweet_id: int, author_id: int, broadcast: int = 1) -> None:
    """Run in the web process after the tweet commits (tweethub.outbox.run_after_commit), never
    queued: read-your-writes cannot wait for a worker. Best effort, the service says why.
    `broadcast` 0: a reply to someone else (kept out of the author's list)."""
    services.feed_push_own(tweet_id=tweet_id, author_id=author_id, broadcast=bool(broadcast))


@shared_task(autoretry_for=TRANSIENT, retry_backoff=True, max_retries=8)
def retract_tweet_task(tweet_id: int, author_id: int) -> None:
    touched = services.retract_tweet(tweet_id=tweet_id, author_id=author_id)
    announce.deleted_tweet(tweet_id=tweet_id, user_ids=touched)


@shared_task(autoretry_for=TRANSIENT, retry_backoff=True, max_retries=8)
def follow_backfill_task(follower_id: int, followee_id: int) -> None:
    services.follow_backfill(follower_id=follower_id, followee_id=followee_id)


@shared_task(autoretry_for=TRANSIENT, retry_backoff=True, max_retries=8)
def unfollow_cleanup_task(follower_id: int, followee_id: int) -> None:
    services.unfollow_cleanup(follower_id=follower_id, followee_id=followee_id)


@shared_task(autoretry_for=TRANSIENT, retry_backoff=True, max_retries=8)
def celebrity_demote_task(user_id: int) -> None:
    services.celebrity_demote(user_id=user_id)


@shared_task(autoretry_for=TRANSIENT, retry_backoff=True, max_retries=8)
def feed_rebuild_task(user_id: int) -> None:
    """Rate limited (REBUILD_RATE_LIMIT): a Redis flush queues one per reader."""
    pacing.rebuild_slot_wait()
    services.feed_rebuild(user_id=user_id)


@shared_task(autoretry_for=TRANSIENT, retry_backoff=True, max_retries=8)
def author_list_rebuild_task(author_id: int) -> None:
    pacing.rebuild_slot_wait()
    services.author_list_rebuild(author_id=author_id)


@shared_task(autoretry_for=TRANSIENT, retry_backoff=True, max_retries=8)
def feed_remove_task(user_id: int, tweet_ids: list[int]) -> None:
    """Repair a feed that still held ids a reader found stale."""
    store.remove(tweet_ids=tweet_ids, user_ids=[user_id])


@shared_task
def drop_inactive_feeds_task() -> int:
    return services.drop_inactive_feeds()


@shared_task(autoretry_for=TRANSIENT, retry_backoff=True, max_retries=8)
def author_hide_task(author_id: int) -> None:
    services.author_hide(author_id=author_id)


@shared_task(autoretry_for=TRANSIENT, retry_backoff=True, max_retries=8)
def author_replies_restore_task(author_id: int) -> None:
    services.author_replies_restore(author_id=author_id)


@shared_task(autoretry_for=TRANSIENT, retry_backoff=True, max_retries=8)
def feeds_drop_task(user_id: int) -> None:
    """A deleted account's feed keys (accounts.services.user_delete)."""
    services.feeds_drop(user_ids=[user_id])
