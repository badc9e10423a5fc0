"""The home timeline read path: feed from Redis, hydrated from Postgres in a fixed number of queries.

A page is the newest `limit` tweets older than the cursor among:
  1. ids in the user's feed above its floor (Redis, one round trip);
  2. below the floor, the plain SQL timeline query (only once the reader scrolls past the feed);
  3. tweets of followed accounts in pull mode (celebrities), merged at read time;
with every id hydrated in one query. If the user has no feed (new, inactive, or Redis was
flushed) the whole page comes from SQL, correct from the first request, and a rebuild is queued.
Ids whose row is gone (deleted) or whose author the reader no longer follows (a late task) are
dropped, so the page always equals the plain SQL answer.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import redis
from django.db.models import QuerySet

from accounts.models import FanoutMode
from follows.models import Follow
from timelines import store
from tweets.models import Tweet

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TimelinePage:
    tweets: list[Tweet]
    next_cursor: int | None  # pass as ?before= for the next page; None at the end
    source: str  # "feed", "feed+sql" or "sql": how it was served (for the admin panel and tests)


# What timeline code and tweets/_tweet_shared.html read from a tweet and its author. Loading only
# these keeps a page's rows small (no password hashes, bios or search vectors); reading another
# field of a hydrated row costs one query per row, which the home page's query-count test catches.
HYDRATED_FIELDS = (
    "id", "author_id", "text", "created_at", "pinned",
    "author__id", "author__username", "author__name", "author__avatar",
)  # fmt: skip


def hydrate(ids: list[int]) -> dict[int, Tweet]:
    """Tweets by id with their authors, in ONE query (the only place that shapes tweet rows for
    lists, so every list renders with the same data and no per-row queries)."""
    if not ids:
        return {}
    rows = Tweet.objects.filter(id__in=ids).select_related("author").only(*HYDRATED_FIELDS)
    return {tweet.id: tweet for tweet in rows}


def _pull_authors(user_id: int) -> list[int]:
    """Followees whose tweets are not (or not yet) in feeds: readers merge them."""
    return list(
        Follow.objects.filter(
            follower_id=user_id,
            followee__stats__fanout_mode__in=[FanoutMode.PULL, FanoutMode.DEMOTING],
        ).values_list("followee_id", flat=True)
    )


def _older(queryset: QuerySet[Tweet], before: int | None, limit: int) -> list[int]:
    if before is not None:
        queryset = queryset.filter(id__lt=before)
    return list(queryset.order_by("-id").values_list("id", flat=True)[:limit])


def home_timeline(
    *,
    user_id: int,
    before: int | None,
    limit: int,
    on_missing_feed: Callable[[int], None] | None = None,
    on_stale_ids: Callable[[int, list[int]], None] | None = None,
) -> TimelinePage:
    """The user's home timeline page: own and followees' tweets, newest first, ids < `before`.

    `on_missing_feed(user_id)`: the user has no feed (the caller queues a rebuild).
    `on_stale_ids(user_id, ids)`: the feed held ids that no longer belong (a retraction or an
    unfollow cleanup has not run yet); the page is served from SQL and the caller may queue their
    removal. If Redis is unreachable the page is served from SQL: slower, never wrong, no error.
    """
    try:
        feed = store.page(user_id=user_id, before=before, limit=limit)
    except redis.RedisError:
        logger.warning("feed of %s unreadable, serving from SQL", user_id, exc_info=True)
        feed = None
    else:
        if feed is None and on_missing_feed is not None:
            on_missing_feed(user_id)

    if feed is None:
        candidates = _older(Tweet.objects.timeline_of(user_id), before, limit)
        source = "sql"
    else:
        candidates = list(feed.ids)
        source = "feed"
        if len(candidates) < limit and feed.floor > 0:
            # Past the cached part: continue in Postgres at the floor, no gap, no duplicate.
            below = feed.floor + 1 if before is None else min(before, feed.floor + 1)
            candidates += _older(Tweet.objects.timeline_of(user_id), below, limit - len(candidates))
            source = "feed+sql"
        pulled = _pull_authors(user_id)
        if pulled:
            candidates += _older(Tweet.objects.filter(author_id__in=pulled), before, limit)

    ordered = sorted(set(candidates), reverse=True)
    rows = hydrate(ordered)
    if feed is not None:
        authors = {tweet.author_id for tweet in rows.values()} - {user_id}
        followed = set(
            Follow.objects.filter(follower_id=user_id, followee_id__in=authors).values_list("followee_id", flat=True)
        )
        stale = [
            tweet_id
            for tweet_id in ordered
            if tweet_id not in rows or rows[tweet_id].author_id not in followed | {user_id}
        ]
        if stale:
            # Rare (a task has yet to run): the candidates may then miss tweets that belong on
            # this page, so answer this one from SQL, exactly, and let the feed be repaired.
            if on_stale_ids is not None:
                on_stale_ids(user_id, stale)
            ordered = _older(Tweet.objects.timeline_of(user_id), before, limit)
            rows = hydrate(ordered)
            source = "sql"
    page = [rows[tweet_id] for tweet_id in ordered if tweet_id in rows][:limit]
    next_cursor = page[-1].id if len(page) == limit else None
    return TimelinePage(tweets=page, next_cursor=next_cursor, source=source)
