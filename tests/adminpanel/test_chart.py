"""The admin panel's "Tweets per hour, last 24 hours" chart counts the tweets in Postgres: those
posted before the panel (or the site) started count too, not only those it saw being posted."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client

from adminpanel import figures
from tests.factories import make_user
from tweethub.ids import id_for_time
from tweets import selectors as tweet_selectors
from tweets.models import Tweet


def _posted(author_id: int, at: float, text: str) -> Tweet:
    """A tweet as it was stored `at` (a unix time): its id holds its time, as tweets_next_id makes it."""
    moment = datetime.fromtimestamp(at, tz=UTC)
    return Tweet(id=id_for_time(moment), author_id=author_id, text=text, created_at=moment)


@pytest.mark.django_db
def test_tweets_already_in_the_database_are_counted_by_hour(client: Client, django_assert_num_queries: Any) -> None:
    author = make_user("author")
    hour = int(time.time() // 3600) * 3600
    # Hours well inside the window, so a clock that turns an hour during the test changes nothing.
    Tweet.objects.bulk_create(
        [
            _posted(author.pk, hour - 3600 + 10, "an hour ago"),
            _posted(author.pk, hour - 3 * 3600 + 5, "three hours ago"),
            _posted(author.pk, hour - 3 * 3600 + 3599.5, "three hours ago, at the end of that hour"),
            _posted(author.pk, hour - 20 * 3600, "twenty hours ago, on the hour"),
            _posted(author.pk, hour - 30 * 3600, "yesterday: not in the chart"),
        ]
    )
    cache.delete(figures.FIGURES_CACHE_KEY)  # nothing read before: the panel's first look

    chart = client.get("/admin/figures.json").json()["tweets_per_hour"]

    assert len(chart) == 24
    counts = {row["start"]: row["count"] for row in chart}
    assert counts[hour - 3600] == 1
    assert counts[hour - 3 * 3600] == 2
    assert counts[hour - 20 * 3600] == 1
    assert sum(counts.values()) == 4
    assert [row["start"] for row in chart] == sorted(counts)  # oldest first, one row an hour
    assert chart[-1]["start"] == int(time.time() // 3600) * 3600  # the last bar is now
    with django_assert_num_queries(1):
        assert tweet_selectors.tweets_per_hour(hours=24) == [(row["start"], row["count"]) for row in chart]
