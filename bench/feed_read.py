"""Section 2, feed reads: one home page fetched and hydrated from the feed, beside the pull-model
SQL query (followees' tweets newest first, LIMIT page, rows with their authors) for readers who
follow 10 to 5,000 accounts. Both return the same tweets, checked before timing."""

from __future__ import annotations

import random

from django.conf import settings

from bench.core import Context, Figure, percentile, timed_ms
from bench.data import follows_create, users_create
from timelines.selectors import home_timeline
from timelines.services import feeds_bulk_build
from tweets.models import Tweet


def _authors_with_tweets(count: int, rng: random.Random) -> list[int]:
    """A random sample of accounts that have tweeted, so each followee adds to the timeline."""
    pool = list(Tweet.objects.order_by().values_list("author_id", flat=True).distinct())
    return rng.sample(pool, min(count, len(pool)))


def _sql_page(user_id: int, limit: int) -> list[Tweet]:
    return list(Tweet.objects.timeline_of(user_id).select_related("author").defer("search").order_by("-id")[:limit])


def run(ctx: Context) -> list[Figure]:
    rng = random.Random(7)
    limit = settings.TIMELINE_PAGE_SIZE
    figures: list[Figure] = []
    for following in ctx.scale.read_followings:
        ctx.say(f"feed read: reader following {following:,} accounts")
        (reader,) = users_create(prefix=f"rd{following}x", count=1)
        follows_create(pairs=[(reader, author) for author in _authors_with_tweets(following, rng)])
        feeds_bulk_build(user_ids=[reader])
        page = home_timeline(user_id=reader, before=None, limit=limit)
        expected = [tweet.id for tweet in _sql_page(reader, limit)]
        if page.source != "feed" or [tweet.id for tweet in page.tweets] != expected:
            raise AssertionError(f"reader {reader}: feed page ({page.source}) differs from SQL")
        repeat = ctx.scale.read_repeat
        feed_ms = timed_ms(lambda: home_timeline(user_id=reader, before=None, limit=limit), repeat=repeat)  # noqa: B023
        sql_ms = timed_ms(lambda: _sql_page(reader, limit), repeat=repeat)  # noqa: B023
        target = following >= 1_000
        feed_p99, sql_p99 = percentile(feed_ms, 99), percentile(sql_ms, 99)
        figures += [
            Figure(
                "feed_read",
                f"following {following:,}: p50",
                percentile(feed_ms, 50),
                "ms",
                baseline=percentile(sql_ms, 50),
                baseline_name="pull-model SQL page",
                notes=f"{repeat} reads each, hydrated page of {limit}",
            ),
            Figure(
                "feed_read",
                f"following {following:,}: p99",
                feed_p99,
                "ms",
                baseline=sql_p99,
                baseline_name="pull-model SQL page",
                target="SQL p99 >= 10x feed p99" if target else "",
                met=(sql_p99 >= 10 * feed_p99) if target else None,
                extra={"speedup": sql_p99 / feed_p99 if feed_p99 else None},
            ),
        ]
    return figures
