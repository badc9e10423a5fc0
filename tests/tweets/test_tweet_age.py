"""How old a tweet looks in lists ("5m", "3h", "21 Nov") and what screen readers hear."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from tweets.text import tweet_age, tweet_age_long


# Ages, not moments: parametrize runs at collection time, long before the test does.
@pytest.mark.parametrize(
    ("age", "short", "long"),
    [
        (timedelta(seconds=5), "now", "just now"),
        (timedelta(seconds=-30), "now", "just now"),  # a clock slightly ahead is still "now"
        (timedelta(minutes=5, seconds=10), "5m", "5 minutes ago"),
        (timedelta(hours=3, minutes=20), "3h", "3 hours ago"),
        (timedelta(hours=23, minutes=59), "23h", "23 hours ago"),
    ],
)
def test_recent_tweets(age: timedelta, short: str, long: str) -> None:
    moment = timezone.now() - age
    assert tweet_age(moment) == short
    assert tweet_age_long(moment) == long


def test_older_tweets_show_their_date(monkeypatch: pytest.MonkeyPatch) -> None:
    now = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
    monkeypatch.setattr(timezone, "now", lambda: now)
    assert tweet_age(datetime(2026, 6, 14, 11, 0, tzinfo=UTC)) == "14 Jun"
    assert tweet_age(datetime(2026, 2, 3, 9, 0, tzinfo=UTC)) == "3 Feb"
    assert tweet_age(datetime(2025, 3, 4, 9, 0, tzinfo=UTC)) == "4 Mar 2025"
    assert tweet_age_long(datetime(2025, 3, 4, 9, 0, tzinfo=UTC)) == "4 March 2025"
