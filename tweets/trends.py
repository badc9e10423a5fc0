"""Trending hashtags of the last 24 hours, from time-bucketed counts in Redis.

Each hour has a sorted set of tag -> uses (trend:<hour since the epoch>), which expires an hour
after it stops counting. The ranking sums the last 24 buckets with weights that halve every
TREND_HALF_LIFE_HOURS, so a tag used a lot just now outranks one that was busy this morning. The
union is cached for CACHE_SECONDS: every page shows the sidebar, and one ZUNIONSTORE over 24 small
sets a minute is all it costs.

Rebuildable: the counts can be recomputed from tweets.tags (recount()), so losing Redis loses
nothing but freshness. Reads and counting are best effort: with Redis down the sidebar is empty and
tweeting still works.
"""

from __future__ import annotations

import logging
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import timedelta
from typing import cast

import redis
from django.conf import settings
from django.utils import timezone

from tweethub.redis import Role, counters
from tweethub.rediskeys import KeyFamily

logger = logging.getLogger(__name__)

HOURS = 24
CACHE_KEY = "trend:top"
CACHE_SECONDS = 60
# Member that ends every cached ranking, below any real tag (scores are positive) and never shown,
# so that a ranking with no tags is cached too instead of recomputed for every page. record()
# removes it, which deletes an empty ranking (the first tag of a quiet day shows at once) and
# changes nothing in a ranking that has tags. Not a tag: tags are never empty.
END = ""

# Purged: the counts name tags of purged tweets.
REDIS_KEYS = (
    KeyFamily(
        key="trend:<hour>",
        pattern="trend:[0-9]*",
        role=Role.COUNTERS,
        holds="hourly tag counts (25 h)",
        rebuilt_by="`tweets.trends.recount()` from Postgres",
        purge=True,
    ),
    KeyFamily(
        key=CACHE_KEY,
        role=Role.COUNTERS,
        holds="the ranked union (60 s; an empty one, held by an end marker, until the next tag is used)",
        rebuilt_by="the next page that misses it",
        purge=True,
    ),
)


@dataclass(frozen=True)
class Trend:
    tag: str
    score: float  # uses, each weighted by how recent it is (1.0 for a use in the current hour)
    share: int  # score as a share of the top trend's, in tens of percent (10..100): a bar's length


def _bucket_key(hour: int) -> str:
    return f"trend:{hour}"


def _hour(at: float | None = None) -> int:
    return int((time.time() if at is None else at) // 3600)


def _expires_at(hour: int) -> int:
    # The bucket counts for HOURS hours after it began; keep it one hour more for slack.
    return (hour + HOURS + 1) * 3600


def record(tags: list[str], *, at: float | None = None) -> None:
    """Count one use of each tag at `at` (a Unix time; default now). Best effort: a Redis failure
    is logged and swallowed, because trends are decoration and the tweet is already saved."""
    if not tags:
        return
    hour = _hour(at)
    key = _bucket_key(hour)
    try:
        pipe = counters().pipeline(transaction=False)
        for tag in tags:
            pipe.zincrby(key, 1, tag)
        pipe.expireat(key, _expires_at(hour))
        pipe.zrem(CACHE_KEY, END)
        pipe.execute()
    except redis.RedisError:
        logger.warning("trend counts not recorded", exc_info=True)


def author_adjust(*, author_id: int, sign: int) -> None:
    """Take an account's tags of the last 24 hours out of the counts (sign -1: it was suspended, and
    a spam wave's tags must stop trending at once) or put them back (+1: the suspension was lifted).
    Call once per change, after its commit (not from a retried task: counts are not idempotent).
    Best effort, like record(): the ranking is recomputed at its next read."""
    from tweets.models import Tweet

    since = timezone.now() - timedelta(hours=HOURS)
    counts: defaultdict[int, Counter[str]] = defaultdict(Counter)
    rows = Tweet.objects.filter(author_id=author_id, created_at__gte=since).exclude(tags=[])
    for created_at, tags in rows.values_list("created_at", "tags"):
        counts[_hour(created_at.timestamp())].update(tags)
    if not counts:
        return
    try:
        pipe = counters().pipeline(transaction=True)
        for hour, counter in counts.items():
            key = _bucket_key(hour)
            for tag, uses in counter.items():
                pipe.zincrby(key, sign * uses, tag)
            pipe.zremrangebyscore(key, "-inf", 0)  # a tag nobody else used goes
            pipe.expireat(key, _expires_at(hour))
        pipe.delete(CACHE_KEY)
        pipe.execute()
    except redis.RedisError:
        logger.warning("trend counts of %s not adjusted", author_id, exc_info=True)


def _decoded(rows: object) -> list[tuple[str, float]]:
    return [
        (tag.decode() if isinstance(tag, bytes) else str(tag), float(score))
        for tag, score in cast(list[tuple[bytes | str, float]], rows)
    ]


def top(limit: int = 10) -> list[tuple[str, float]]:
    """The trending tags with their decayed scores, best first, equal scores alphabetically.
    [] when Redis is unavailable. May be up to CACHE_SECONDS old.

    Every page's sidebar calls this: one round trip while the ranking is cached, an empty one
    included (the END marker keeps the key alive), and one more only when the cut falls inside a
    tie (rare)."""
    if limit <= 0:
        return []
    client = counters()
    try:
        # One row more than asked for: it says whether the cut falls inside a tie.
        rows = _decoded(client.zrevrange(CACHE_KEY, 0, limit, withscores=True))
        if not rows:  # not computed in the last CACHE_SECONDS (a computed ranking holds END)
            now = _hour()
            half_life = settings.TREND_HALF_LIFE_HOURS
            weights = {_bucket_key(now - age): 0.5 ** (age / half_life) for age in range(HOURS)}
            pipe = client.pipeline(transaction=True)
            pipe.zunionstore(CACHE_KEY, weights)
            pipe.zadd(CACHE_KEY, {END: -1.0})
            pipe.expire(CACHE_KEY, CACHE_SECONDS)
            pipe.zrevrange(CACHE_KEY, 0, limit, withscores=True)
            rows = _decoded(pipe.execute()[-1])
        result = [row for row in rows if row[0] != END]
        if len(result) > limit and result[limit][1] == result[limit - 1][1]:
            # Redis breaks ties by member, descending: fetch the whole tie so the list is stable
            # and alphabetical.
            boundary = result[limit - 1][1]
            ties = _decoded(client.zrangebyscore(CACHE_KEY, boundary, boundary, withscores=True))
            result = [row for row in result if row[1] > boundary] + ties
    except redis.RedisError:
        logger.warning("trends unavailable", exc_info=True)
        return []
    result.sort(key=lambda row: (-row[1], row[0]))
    return result[:limit]


def ranked(limit: int = 30) -> list[Trend]:
    """top() with each score's share of the best one, for the trending page's bars (in steps of
    ten, so a stylesheet can draw them without inline styles, which a strict CSP forbids)."""
    tops = top(limit=limit)
    best = tops[0][1] if tops else 0.0
    return [Trend(tag=tag, score=score, share=max(10, round(10 * score / best) * 10)) for tag, score in tops]


def recount() -> int:
    """Rebuild the last 24 hours of counts from Postgres (after Redis lost them). Returns the
    number of tweets read. Raises redis.RedisError if Redis is down (it is a repair, run by hand).

    The new buckets replace the old ones in one MULTI, so readers see old or new counts, never a
    mix; a tweet recorded while the query runs may be counted twice or not at all (trends are
    approximate by nature).
    """
    from tweets.models import Tweet

    now = _hour()
    since = timezone.now() - timedelta(hours=HOURS)
    counts: defaultdict[int, Counter[str]] = defaultdict(Counter)
    read = 0
    rows = Tweet.objects.visible().filter(created_at__gte=since).exclude(tags=[]).values_list("created_at", "tags")
    for created_at, tags in rows.iterator(chunk_size=2000):
        counts[_hour(created_at.timestamp())].update(tags)
        read += 1
    pipe = counters().pipeline(transaction=True)
    pipe.delete(CACHE_KEY, *[_bucket_key(now - age) for age in range(HOURS + 1)])
    for hour, counter in counts.items():
        pipe.zadd(_bucket_key(hour), dict(counter))
        pipe.expireat(_bucket_key(hour), _expires_at(hour))
    pipe.execute()
    return read
