"""What a home timeline reader queues when its read found the feed wanting (the callbacks of
timelines.selectors.home_timeline): the home page and the API's home timeline pass these same
three, so a page and a JSON read repair feeds alike. Best effort: the page is right without them
(served from SQL meanwhile); the next read tries again."""

from __future__ import annotations

import logging

import redis

from timelines import store
from timelines.tasks import author_list_rebuild_task, feed_rebuild_task, feed_remove_task

logger = logging.getLogger(__name__)


def queue_rebuild(user_id: int) -> None:
    try:
        if store.claim_rebuild_request(user_id=user_id):
            feed_rebuild_task.delay(user_id)
    except (redis.RedisError, OSError):
        logger.warning("could not queue a feed rebuild for %s", user_id, exc_info=True)


def queue_list_build(author_id: int) -> None:
    try:
        if store.claim_rebuild_request(user_id=author_id, kind=store.Kind.AUTHOR):
            author_list_rebuild_task.delay(author_id)
    except (redis.RedisError, OSError):
        logger.warning("could not queue the author list build of %s", author_id, exc_info=True)


def queue_repair(user_id: int, tweet_ids: list[int]) -> None:
    try:
        feed_remove_task.delay(user_id, tweet_ids)
    except (redis.RedisError, OSError):
        logger.warning("could not queue a feed repair for %s", user_id, exc_info=True)
