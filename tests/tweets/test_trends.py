"""tweets.trends on the real Redis: hourly buckets, recency weighting, the cache, rebuild, outage."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest
from django.test.utils import override_settings
from django.utils import timezone

from tests.factories import make_user
from tweethub.redis import feeds
from tweets import trends
from tweets.models import Tweet

HOUR = 3600


def _bucket(at: float) -> dict[str, float]:
    raw: list[tuple[bytes, float]] = feeds().zrange(f"trend:{int(at // HOUR)}", 0, -1, withscores=True)  # type: ignore[assignment]
    return {member.decode(): score for member, score in raw}


def test_uses_are_counted_per_hour_bucket() -> None:
    now = time.time()
    trends.record(["django", "python"], at=now)
    trends.record(["django"], at=now)
    trends.record(["django"], at=now - 2 * HOUR)
    assert _bucket(now) == {"django": 2.0, "python": 1.0}
    assert _bucket(now - 2 * HOUR) == {"django": 1.0}
    # A bucket expires an hour after it stops counting, not 25 hours after its last write.
    ttl = feeds().ttl(f"trend:{int((now - 2 * HOUR) // HOUR)}")
    assert (trends.HOURS - 2) * HOUR < ttl <= (trends.HOURS + 1 - 2) * HOUR


def test_nothing_to_record_touches_nothing() -> None:
    trends.record([])
    assert feeds().keys("trend:*") == []


@override_settings(TREND_HALF_LIFE_HOURS=6.0)
def test_newer_uses_weigh_more() -> None:
    now = time.time()
    trends.record(["fresh"], at=now)
    trends.record(["stale"], at=now - 6 * HOUR)
    trends.record(["stale"], at=now - 6 * HOUR)
    trends.record(["older"], at=now - 12 * HOUR)
    scores = dict(trends.top())
    # One use now weighs 1; a use one half-life ago weighs 1/2, two half-lives ago 1/4.
    assert scores["fresh"] == pytest.approx(1.0)
    assert scores["stale"] == pytest.approx(1.0)  # 2 uses x 1/2
    assert scores["older"] == pytest.approx(0.25)


def test_more_uses_outrank_and_ties_read_alphabetically() -> None:
    now = time.time()
    for _ in range(3):
        trends.record(["busy"], at=now)
    trends.record(["b_tie", "a_tie"], at=now)
    trends.record(["busy_yesterday"], at=now - 20 * HOUR)
    assert [tag for tag, _ in trends.top()] == ["busy", "a_tie", "b_tie", "busy_yesterday"]
    assert [tag for tag, _ in trends.top(limit=2)] == ["busy", "a_tie"]
    assert trends.top(limit=0) == []


def test_only_the_last_24_hours_count() -> None:
    now = time.time()
    trends.record(["ancient"], at=now - 30 * HOUR)  # already expired
    trends.record(["yesterday"], at=now - 24 * HOUR)  # outside the 24 buckets read
    trends.record(["recent"], at=now - 23 * HOUR)
    assert [tag for tag, _ in trends.top()] == ["recent"]


def test_the_ranking_is_cached_for_a_minute() -> None:
    trends.record(["first"])
    assert [tag for tag, _ in trends.top()] == ["first"]
    assert 0 < feeds().ttl(trends.CACHE_KEY) <= trends.CACHE_SECONDS
    trends.record(["second", "second"])
    trends.record(["second"])
    assert [tag for tag, _ in trends.top()] == ["first"]  # still the cached ranking
    feeds().delete(trends.CACHE_KEY)  # what a minute passing does
    assert [tag for tag, _ in trends.top()] == ["second", "first"]


def _calls() -> dict[str, int]:
    """Redis commands run since the last CONFIG RESETSTAT, by name (the test's own left out)."""
    stats: dict[str, dict[str, int]] = feeds().info("commandstats")
    calls = {name.removeprefix("cmdstat_"): row["calls"] for name, row in stats.items()}
    return {name: count for name, count in calls.items() if not name.startswith(("config", "info"))}


def test_a_ranking_with_no_tags_is_cached_until_a_tag_is_used() -> None:
    """Every page shows the sidebar: a quiet day must not recompute the union for each of them,
    and the first tag used must not wait for the cache to expire."""
    feeds().config_resetstat()
    assert trends.top() == []
    assert trends.top() == []
    assert _calls().get("zunionstore") == 1
    trends.record(["first"])
    assert [tag for tag, _ in trends.top()] == ["first"]


def test_a_full_sidebar_costs_one_round_trip() -> None:
    now = time.time()
    for n in range(10):
        trends.record([f"tag{n}"] * (n + 1), at=now)
    trends.top(limit=8)  # computes and caches the ranking
    feeds().config_resetstat()
    assert [tag for tag, _ in trends.top(limit=8)] == [f"tag{n}" for n in range(9, 1, -1)]
    assert _calls() == {"zrevrange": 1}


def test_ranked_gives_bars_in_steps_of_ten() -> None:
    for _ in range(10):
        trends.record(["top"])
    for _ in range(5):
        trends.record(["half"])
    trends.record(["rare"])
    assert [(trend.tag, trend.share) for trend in trends.ranked()] == [("top", 100), ("half", 50), ("rare", 10)]


@pytest.mark.django_db
def test_recount_rebuilds_from_postgres_after_redis_lost_everything() -> None:
    ann = make_user("ann")
    now = timezone.now()
    rows = [
        ("#django #python", now),
        ("#django", now),
        ("#django again", now - timedelta(hours=7)),
        ("#python", now - timedelta(hours=3)),
        ("#old", now - timedelta(hours=30)),
        ("no tags", now),
    ]
    for text, created_at in rows:
        tweet = Tweet.objects.create(author=ann, text=text, tags=[t.strip("#") for t in text.split() if t[0] == "#"])
        Tweet.objects.filter(pk=tweet.pk).update(created_at=created_at)
    trends.record(["django", "python"])
    feeds().flushdb()  # Redis lost everything
    assert trends.top() == []
    trends.record(["leftover"])  # counts from after the loss: the rebuild replaces them too

    assert trends.recount() == 4
    assert _bucket(now.timestamp()) == {"django": 2.0, "python": 1.0}
    assert _bucket((now - timedelta(hours=7)).timestamp()) == {"django": 1.0}
    assert _bucket((now - timedelta(hours=3)).timestamp()) == {"python": 1.0}
    ranking = [tag for tag, _ in trends.top()]
    assert ranking == ["django", "python"]
    assert "old" not in ranking
    assert "leftover" not in ranking


@override_settings(FEEDS_REDIS_URL="unix:///nonexistent/redis.sock")
def test_with_redis_down_trends_are_empty_and_nothing_raises(caplog: Any) -> None:
    trends.record(["lost"])
    assert trends.top() == []
    assert trends.ranked() == []
    assert "trend counts not recorded" in caplog.text
    assert "trends unavailable" in caplog.text


@pytest.mark.django_db
@override_settings(FEEDS_REDIS_URL="unix:///nonexistent/redis.sock")
def test_with_redis_down_tweeting_still_works(django_capture_on_commit_callbacks: Any, client: Any) -> None:
    # Only the feeds/trends Redis is gone here; the broker that fan-out uses is a separate role.
    ann = make_user("ann")
    client.force_login(ann)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/tweets/", {"text": "#outage still posts"})
    assert response.status_code == 302
    assert Tweet.objects.get().tags == ["outage"]
