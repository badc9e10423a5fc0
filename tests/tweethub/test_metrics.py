from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from follows.services import follow_create
from tests.factories import make_user
from tweethub import metrics
from tweets import selectors as tweet_selectors
from tweets.services import tweet_create


def test_percentiles_by_nearest_rank() -> None:
    samples = [float(n) for n in range(1, 101)]
    assert metrics.percentile(samples, 0.5) == 50
    assert metrics.percentile(samples, 0.95) == 95
    assert metrics.percentile(samples, 0.99) == 99
    assert metrics.percentile([], 0.5) is None


def test_recorded_latencies_come_back() -> None:
    metrics.record_fanout(created_at=timezone.now() - timedelta(milliseconds=250), recipients=3)
    samples = metrics.fanout_latencies(minutes=2)
    assert len(samples) == 1
    assert 200 <= samples[0] < 5000


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("eager_tasks")
def test_a_real_tweet_is_counted_and_its_fanout_timed() -> None:
    author, fan = make_user("author", last_active=timezone.now()), make_user("fan", last_active=timezone.now())
    follow_create(follower=fan, followee=author)
    tweet_create(author=author, text="measure me")
    assert tweet_selectors.tweets_per_hour(hours=1)[-1][1] == 1
    assert len(metrics.fanout_latencies(minutes=2)) == 1
