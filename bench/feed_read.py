"""Section "feed_read": one home page, from ids to rows ready to render, for readers following exactly
50, 1,000 and 5,000 accounts (issue 15's targets), beside the pull-model SQL query for the same page.

The two sides do the same job: the 20 newest tweets of the reader and the accounts they follow,
each with its author's display fields, as Python objects a template renders with no further query.

- feed: `timelines.selectors.home_timeline(user_id=..., before=None, limit=TIMELINE_PAGE_SIZE)` and
  its page's rows (`page.tweets`, or `page.items` once the page object is renamed): whatever the read
  path does (Redis feed, row cache, celebrity merge, followed check, hydration from Postgres).
- SQL: ONE ORM query, `Tweet.objects.timeline_of(reader)` (own and followees' tweets) with
  `select_related("author")` and `only()` the fields a tweet card shows (CARD_FIELDS, the columns
  the feed path hydrated before the row cache), newest first, LIMIT 20: model instances with their
  authors attached.

Both pages must hold the same tweet ids, checked before timing. Warm: the median and p99 of
`read_repeat` reads after 3 unmeasured ones. Cold: the same read right after the row-cache keys
(`tc:*` tweet cards, `uc:*` author cards, in the feeds Redis) of that page's tweets and authors were
dropped, as after an eviction; the feed itself stays. Postgres's buffers stay warm for both sides.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Mapping, Sequence
from typing import Any

from django.conf import settings

from bench.core import Context, Figure, Target, aim, percentile, timed_ms
from bench.counting import round_trips
from bench.data import reader_following
from timelines.selectors import home_timeline
from tweethub.redis import feeds
from tweets.models import Tweet

SECTION = "feed_read"
# What a tweet card shows (templates/tweets/_tweet_shared.html): the SQL side loads these columns.
CARD_FIELDS = (
    "id", "author_id", "text", "created_at", "pinned",
    "author__id", "author__username", "author__name", "author__avatar",
)  # fmt: skip
ROW_CACHE_PATTERNS = ("tc:*", "uc:*")  # tweet cards, author cards (when the row cache exists)


def sql_page(user_id: int, limit: int) -> list[Tweet]:
    """The pull-model page in one query: rows with their authors, ready to render."""
    queryset = Tweet.objects.timeline_of(user_id).select_related("author").only(*CARD_FIELDS)
    return list(queryset.order_by("-id")[:limit])


def page_items(page: Any) -> Sequence[Any]:
    """The page's rows: `tweets` today; `items` once the page object becomes the shared one."""
    items: Sequence[Any] = page.tweets if hasattr(page, "tweets") else page.items
    return items


def item_id(item: Any) -> int:
    """A row's feed entry id, whatever the row is (a Tweet, a card object, a dict): for a repost the
    repost's own id (the SQL page lists repost rows), else the tweet's."""
    if isinstance(item, Mapping):
        return int(item.get("entry_id", item["id"]))
    return int(getattr(item, "entry", None) or item.id)


def feed_page(user_id: int, limit: int) -> Sequence[Any]:
    return page_items(home_timeline(user_id=user_id, before=None, limit=limit))


def row_cache_keys(ids: set[int]) -> list[bytes]:
    """Row-cache keys that name one of `ids` (tweet or author ids): the page's cached rows."""
    client, keys = feeds(), []
    for pattern in ROW_CACHE_PATTERNS:
        for key in client.scan_iter(match=pattern, count=10_000):
            if ids & {int(digits) for digits in re.findall(rb"\d+", key)}:
                keys.append(key)
    return keys


def cold_reads(user_id: int, limit: int, *, keys: list[bytes], repeat: int) -> tuple[list[float], str]:
    """Timed reads, each after dropping `keys`; then one more whose round trips are counted."""
    client, samples = feeds(), []
    for _ in range(repeat):
        if keys:
            client.unlink(*keys)
        started = time.perf_counter()
        feed_page(user_id, limit)
        samples.append((time.perf_counter() - started) * 1000)
    if keys:
        client.unlink(*keys)
    with round_trips() as counted:
        feed_page(user_id, limit)
    return samples, counted.summary()


def _check(reader: int, limit: int) -> str:
    """The feed page equals the SQL page and came from the feed; one warm read's round trips."""
    page = home_timeline(user_id=reader, before=None, limit=limit)
    expected = [tweet.id for tweet in sql_page(reader, limit)]
    got = [item_id(item) for item in page_items(page)]
    source = getattr(page, "source", "feed")
    if source != "feed" or got != expected:
        raise AssertionError(f"reader {reader}: feed page ({source}, {len(got)} rows) differs from SQL")
    home_timeline(user_id=reader, before=None, limit=limit)
    with round_trips() as counted:
        home_timeline(user_id=reader, before=None, limit=limit)
    return counted.summary()


def _figure(name: str, feed: float, sql: float, *, notes: str = "", extra: dict[str, Any] | None = None) -> Figure:
    return Figure(
        SECTION, name, feed, "ms", baseline=sql, baseline_name="pull-model SQL page (1 ORM query)",
        ratio_kind="baseline/value", notes=notes, extra=extra or {},
    )  # fmt: skip


def run(ctx: Context) -> list[Figure]:
    rng = random.Random(7)
    limit = settings.TIMELINE_PAGE_SIZE
    figures: list[Figure] = []
    for following in ctx.scale.read_followings:
        ctx.say(f"feed read: reader following {following:,} accounts")
        reader = reader_following(count=following, prefix=f"rd{following}x", rng=rng)
        warm_cost = _check(reader, limit)
        repeat = ctx.scale.read_repeat
        feed_ms = timed_ms(lambda: feed_page(reader, limit), repeat=repeat)  # noqa: B023
        sql_ms = timed_ms(lambda: sql_page(reader, limit), repeat=repeat)  # noqa: B023
        rows = sql_page(reader, limit)
        keys = row_cache_keys({tweet.id for tweet in rows} | {tweet.author_id for tweet in rows})
        cold_ms, cold_cost = cold_reads(reader, limit, keys=keys, repeat=ctx.scale.cold_repeat)
        feed_page(reader, limit)  # leave the rows cached for the sections after this one
        name = f"following {following:,}"
        goal = 10.0 if following >= 1_000 else 5.0
        figures += [
            _figure(
                f"{name}: warm read p50 (SQL/feed in ratio)",
                percentile(feed_ms, 50),
                percentile(sql_ms, 50),
                notes=f"{repeat} reads each after 3 unmeasured, page of {limit}; one warm feed read: {warm_cost}",
            ),
            aim(
                _figure(f"{name}: warm read p99 (SQL/feed in ratio)", percentile(feed_ms, 99), percentile(sql_ms, 99)),
                Target(">=", goal, "x"),
            ),
            _figure(
                f"{name}: cold read p50, row cache of the page dropped",
                percentile(cold_ms, 50),
                percentile(sql_ms, 50),
                notes=f"{len(cold_ms)} reads, each after unlinking the page's {len(keys)} row-cache keys "
                f"({'/'.join(ROW_CACHE_PATTERNS)})"
                + ("" if keys else ": none exist, so this is a warm read")
                + f"; cold p99 {percentile(cold_ms, 99):.2f} ms; one cold read: {cold_cost}"
                + "; baseline: the warm SQL p50",
                extra={"keys_dropped": len(keys), "cold_p99_ms": percentile(cold_ms, 99)},
            ),
        ]
    return figures
