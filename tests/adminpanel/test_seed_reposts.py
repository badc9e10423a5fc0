"""Reposts and quote posts in both seeds (adminpanel.seed.reposts): realistic proportions, every
field a repost carries as tweets.reposts.repost_create would have left it, exact counters, and the
seeded feeds equal to the hand-written oracle (tests/oracles.py: the de-duplication rule included)."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test import Client

from accounts.models import User, UserStats
from adminpanel import seed
from tests.oracles import home_timeline_oracle
from timelines import store
from tweets.models import Like, Tweet

pytestmark = pytest.mark.django_db


def _count(sql: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return int(cursor.fetchone()[0])


def _assert_consistent() -> tuple[int, int]:
    """Every repost: an empty row pointing at an older tweet (no repost itself) by someone else,
    whose author it names and whom the reposter follows; one per person and tweet; repost_count
    exact everywhere; no like on a repost; tweet counters without reposts. Returns (reposts, quotes)."""
    assert not _count(
        """
        SELECT count(*) FROM tweets_tweet r LEFT JOIN tweets_tweet o ON o.id = r.repost_of
        WHERE r.repost_of IS NOT NULL AND (o.id IS NULL OR o.id >= r.id OR o.created_at >= r.created_at
            OR o.repost_of IS NOT NULL OR r.repost_of_author_id IS DISTINCT FROM o.author_id
            OR o.author_id = r.author_id OR r.text <> '' OR r.tags <> '{}' OR r.mentions <> '{}'
            OR r.quote_of IS NOT NULL OR r.in_reply_to IS NOT NULL
            OR NOT EXISTS (SELECT 1 FROM follows_follow f WHERE f.follower_id = r.author_id AND f.followee_id = o.author_id))
        """
    )
    assert not _count(
        """
        SELECT count(*) FROM tweets_tweet q LEFT JOIN tweets_tweet o ON o.id = q.quote_of
        WHERE q.quote_of IS NOT NULL AND (o.id IS NULL OR o.id >= q.id OR o.repost_of IS NOT NULL OR q.text = '')
        """
    )
    assert not _count("SELECT count(*) FROM tweets_tweet WHERE repost_of IS NULL AND repost_of_author_id IS NOT NULL")
    assert not _count(
        "SELECT count(*) FROM (SELECT 1 FROM tweets_tweet WHERE repost_of IS NOT NULL"
        " GROUP BY author_id, repost_of HAVING count(*) > 1) d"
    )
    assert not _count(
        "SELECT count(*) FROM tweets_tweet t"
        " WHERE t.repost_count <> (SELECT count(*) FROM tweets_tweet r WHERE r.repost_of = t.id)"
    )
    assert not Like.objects.filter(tweet__repost_of__isnull=False).exists()
    for stats in UserStats.objects.all():
        assert stats.tweets == Tweet.objects.filter(author_id=stats.user_id, repost_of__isnull=True).count()
    return Tweet.objects.filter(repost_of__isnull=False).count(), Tweet.objects.filter(quote_of__isnull=False).count()


def test_seed_data_makes_a_tenth_reposts_and_some_quotes_with_feeds_equal_to_the_oracle(settings: Any) -> None:
    report = seed.seed_graph(users=300, avg_follows=10, tweets=2000, username_prefix="gen")

    assert Tweet.objects.count() == report.tweets == 2000  # reposts are some of the entries asked for
    reposts, quotes = _assert_consistent()
    assert 0.07 <= reposts / report.tweets <= 0.13, (reposts, quotes)
    assert 0.015 <= quotes / report.tweets <= 0.04, quotes
    assert "reposts" in report.seconds
    # The feeds the seed built apply the de-duplication rule: each equals the oracle, at least one
    # holds a repost, and for at least one reader a followee's repost is held back.
    holding, held_back = 0, 0
    for user_id in report.active_user_ids[:120]:
        page = store.page(user_id=user_id, before=None, limit=settings.TIMELINE_LENGTH)
        assert page is not None
        expected = home_timeline_oracle(user_id)
        assert page.ids == [tweet_id for tweet_id in expected if tweet_id > page.floor]
        followed = Tweet.objects.filter(
            author__follower_set__follower_id=user_id, repost_of__isnull=False, id__gt=page.floor
        ).values_list("id", flat=True)
        holding += Tweet.objects.filter(id__in=page.ids, repost_of__isnull=False).exists()
        held_back += any(repost_id not in page.ids for repost_id in followed)
    assert holding
    assert held_back


@pytest.fixture
def demo(settings: Any) -> seed.DemoReport:
    settings.DEMO_SEED = True
    return seed.seed_demo()


def test_the_demo_has_reposts_and_quotes_and_its_home_shows_both_on_first_start(
    demo: seed.DemoReport, settings: Any
) -> None:
    reposts, quotes = _assert_consistent()
    assert 0.06 <= reposts / demo.tweets <= 0.14, reposts
    assert 0.015 <= quotes / demo.tweets <= 0.05, quotes
    demo_user = User.objects.get(username=demo.username)
    assert not Tweet.objects.filter(author=demo_user, repost_of__isnull=False).exists()  # its welcome stays
    client = Client()
    assert client.login(username=demo.username, password=demo.password)
    page = client.get("/")
    items = page.context["page"].items
    assert [card.entry for card in items] == home_timeline_oracle(demo_user.pk)[: settings.TIMELINE_PAGE_SIZE]
    html = page.content.decode()
    assert any(card.reposted_by is not None for card in items), "no repost on the demo's first page"
    assert any(card.quoted is not None for card in items), "no quote on the demo's first page"
    assert " reposted</p>" in html
    assert 'class="tweet-quote"' in html
