"""The model: what 1M and 100M users need at the peak, from the per-unit costs."""

from __future__ import annotations

import math
from dataclasses import dataclass

from bench.capacity.assumptions import (
    ACTIVE_SHARE,
    AVG_FOLLOWS,
    BOX_CORES,
    CARD_CACHE_SECONDS,
    CELEBRITY_THRESHOLD,
    CORE_BUDGET,
    DAY,
    FOLLOWS_PER_ACTIVE_USER_PER_DAY,
    HOME_VIEWS_PER_ACTIVE_USER_PER_DAY,
    PEAK_TO_AVERAGE,
    PG_BUDGET,
    REDIS_BOX_MEMORY_GIB,
    REDIS_CORE_BUDGET,
    TWEETS_PER_ACTIVE_USER_PER_DAY,
)
from bench.capacity.figures import Costs
from bench.capacity.graph import expected_followers, pull_mode


@dataclass(frozen=True)
class Need:
    resource: str
    need: float
    unit: str
    per_box: float  # what one box (server / primary) gives
    add: str  # what to add, with its count filled in by `boxes`

    @property
    def boxes(self) -> int:
        return max(1, math.ceil(self.need / self.per_box - 1e-9))

    @property
    def ratio(self) -> float:
        return self.need / self.per_box


@dataclass(frozen=True)
class Model:
    users: int
    active: int
    top_followers: float  # the most followed account's expected followers
    pull_accounts: int  # and below, the share of follow edges pointing at them
    pull_edge_share: float
    inserts_per_tweet: float
    tweets_per_second: float  # this and the next two: at the peak
    inserts_per_second: float
    home_per_second: float
    feeds_gib: float
    tweet_cards_gib: float
    author_cards_gib: float
    largest_push: float  # active followers of the largest push-mode fan-out
    largest_push_seconds: float  # its duration on one worker and one feed server
    pg_rows_per_second: float
    wal_mib_per_second: float
    needs: tuple[Need, ...]

    @property
    def redis_gib(self) -> float:
        return self.feeds_gib + self.tweet_cards_gib + self.author_cards_gib

    @property
    def first_to_break(self) -> Need:
        return max(self.needs, key=lambda need: need.ratio)


def model(users: int, c: Costs) -> Model:
    active = round(users * ACTIVE_SHARE)
    pull_accounts, pull_share = pull_mode(users)
    # A uniformly chosen author has AVG_FOLLOWS followers on average; pull-mode edges are skipped and
    # only active followers have a feed to push into; +1 for the author's own feed.
    inserts_per_tweet = AVG_FOLLOWS * (1 - pull_share) * ACTIVE_SHARE + 1
    tweets_per_second = active * TWEETS_PER_ACTIVE_USER_PER_DAY / DAY * PEAK_TO_AVERAGE
    follows_per_second = active * FOLLOWS_PER_ACTIVE_USER_PER_DAY / DAY * PEAK_TO_AVERAGE
    home_per_second = active * HOME_VIEWS_PER_ACTIVE_USER_PER_DAY / DAY * PEAK_TO_AVERAGE
    inserts_per_second = tweets_per_second * inserts_per_tweet
    gib = 1024**3
    feeds_gib = active * c.feed_bytes.value / gib
    tweet_cards_gib = (
        active * TWEETS_PER_ACTIVE_USER_PER_DAY * CARD_CACHE_SECONDS / DAY * c.tweet_row_bytes.value / gib
    )
    author_cards_gib = active * c.author_row_bytes.value / gib  # at most every active author at once
    top = expected_followers(0, users)
    largest_push = min(top, CELEBRITY_THRESHOLD - 1) * ACTIVE_SHARE
    redis_cores = (
        inserts_per_second * c.redis_seconds_per_insert.value + home_per_second * c.redis_ms_per_home.value / 1000
    )
    # Per insert as measured on the largest fan-out: a small fan-out's fixed per-task cost comes on top.
    worker_cores = inserts_per_second * c.worker_ms_per_1k.value / 1000 / 1000
    web_cores = home_per_second * c.web_ms_per_home.value / 1000
    pg_rows = tweets_per_second * c.pg_rows_per_tweet.value + follows_per_second * c.pg_rows_per_follow.value
    wal = (
        tweets_per_second * c.wal_bytes_per_tweet.value + follows_per_second * c.wal_bytes_per_follow.value
    ) / 1024**2
    needs = (
        Need("Redis memory (feeds + cards)", feeds_gib + tweet_cards_gib + author_cards_gib, "GiB",
             REDIS_BOX_MEMORY_GIB, "Redis feed/cache servers of 24 GiB (FEEDS_REDIS_URLS)"),
        Need("Redis CPU (fan-out + home reads)", redis_cores, "cores", REDIS_CORE_BUDGET,
             "Redis feed shards, one core each"),
        Need("worker CPU (fan-out)", worker_cores, "cores", BOX_CORES * CORE_BUDGET, "2-core fan-out worker boxes"),
        Need("web CPU (home pages)", web_cores, "cores", BOX_CORES * CORE_BUDGET, "2-core web boxes"),
        Need("Postgres writes", pg_rows, "rows/s", c.pg_rows_per_second.value * PG_BUDGET,
             "write partitions (tweets by author, follows by follower) or bigger primaries"),
    )  # fmt: skip
    return Model(
        users=users, active=active, top_followers=top, pull_accounts=pull_accounts, pull_edge_share=pull_share,
        inserts_per_tweet=inserts_per_tweet, tweets_per_second=tweets_per_second,
        inserts_per_second=inserts_per_second, home_per_second=home_per_second, feeds_gib=feeds_gib,
        tweet_cards_gib=tweet_cards_gib, author_cards_gib=author_cards_gib, largest_push=largest_push,
        largest_push_seconds=largest_push * c.push_seconds_per_insert.value, pg_rows_per_second=pg_rows,
        wal_mib_per_second=wal, needs=needs,
    )  # fmt: skip
