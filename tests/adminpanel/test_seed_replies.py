"""Replies and threads in both seeds (adminpanel.seed.replies): realistic proportions, and every
field a reply carries consistent, as tweets.services.tweet_create would have left it."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.db.models import F
from django.test import Client

from accounts.models import User
from adminpanel import seed
from follows.models import Follow
from timelines import store
from tweets.models import Tweet

pytestmark = pytest.mark.django_db


def _scalar(sql: str) -> Any:
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchone()[0]


def _assert_consistent() -> dict[int, int]:
    """Every reply answers an earlier tweet, names its author and its conversation's first tweet;
    every reply_count is the number of replies. Returns each reply's depth (1: answers a tweet
    that starts a conversation)."""
    assert not _scalar(
        """
        SELECT count(*) FROM tweets_tweet r LEFT JOIN tweets_tweet p ON p.id = r.in_reply_to
        WHERE r.in_reply_to IS NOT NULL AND (p.id IS NULL OR p.id >= r.id OR p.created_at >= r.created_at
            OR r.reply_to_author_id IS DISTINCT FROM p.author_id OR r.conversation_root IS NULL)
        """
    )
    assert not _scalar(
        "SELECT count(*) FROM tweets_tweet WHERE in_reply_to IS NULL"
        " AND (conversation_root IS NOT NULL OR reply_to_author_id IS NOT NULL)"
    )
    assert not _scalar(
        """
        SELECT count(*) FROM tweets_tweet t
        WHERE t.reply_count <> (SELECT count(*) FROM tweets_tweet r WHERE r.in_reply_to = t.id)
        """
    )
    parent: dict[int, int] = {
        tweet_id: answered
        for tweet_id, answered in Tweet.objects.filter(in_reply_to__isnull=False).values_list("id", "in_reply_to")
        if answered is not None
    }
    roots = dict(Tweet.objects.filter(in_reply_to__isnull=False).values_list("id", "conversation_root"))
    depth: dict[int, int] = {}
    for tweet_id in parent:
        node, steps = tweet_id, 0
        while node in parent:
            node, steps = parent[node], steps + 1
        assert roots[tweet_id] == node, "conversation_root is the first tweet of the chain"
        depth[tweet_id] = steps
    return depth


def _self_replies() -> int:
    return Tweet.objects.filter(in_reply_to__isnull=False, reply_to_author_id=F("author_id")).count()


def test_seed_data_makes_a_third_of_tweets_replies_with_threads_and_exact_counts(settings: Any) -> None:
    report = seed.seed_graph(users=300, avg_follows=10, tweets=2000, username_prefix="gen")

    assert Tweet.objects.count() == report.tweets == 2000  # replies are some of the tweets asked for
    replies = Tweet.objects.filter(in_reply_to__isnull=False).count()
    assert 0.22 <= replies / report.tweets <= 0.36, replies
    own = _self_replies()
    assert 0.1 <= own / replies <= 0.35  # self-threads, and mostly answers to others
    depth = _assert_consistent()
    assert sum(1 for steps in depth.values() if steps >= 2) >= 10  # threads: replies to replies
    assert max(depth.values()) >= 3

    # The feeds the seed built keep the reply rule: each equals the plain SQL answer, and for
    # some reader it leaves out a followee's reply to someone the reader does not follow.
    bitten = 0
    for user_id in report.active_user_ids[:120]:
        page = store.page(user_id=user_id, before=None, limit=settings.TIMELINE_LENGTH)
        assert page is not None
        expected = list(Tweet.objects.timeline_of(user_id).order_by("-id").values_list("id", flat=True))
        assert page.ids == [tweet_id for tweet_id in expected if tweet_id > page.floor]
        followees_replies = Tweet.objects.filter(
            author_id__in=Follow.objects.filter(follower_id=user_id).values("followee_id"),
            in_reply_to__isnull=False,
            id__gt=page.floor,
        ).count()
        shown = Tweet.objects.filter(id__in=page.ids, in_reply_to__isnull=False).count()
        bitten += followees_replies > shown
    assert bitten


@pytest.fixture
def demo(settings: Any) -> seed.DemoReport:
    settings.DEMO_SEED = True
    return seed.seed_demo()


def test_seed_demo_has_conversations_in_realistic_proportions(demo: seed.DemoReport) -> None:
    assert Tweet.objects.count() == demo.tweets
    replies = Tweet.objects.filter(in_reply_to__isnull=False)
    assert 0.22 <= replies.count() / demo.tweets <= 0.36, replies.count()
    depth = _assert_consistent()
    # Self-threads of 3 to 6 tweets, and back-and-forth between two people.
    self_threads = Tweet.objects.filter(in_reply_to__isnull=True, reply_count__gt=0)
    lengths = [
        1
        + Tweet.objects.filter(
            conversation_root=root.pk, author_id=root.author_id, reply_to_author_id=root.author_id
        ).count()
        for root in self_threads
    ]
    assert sum(1 for length in lengths if 3 <= length <= 6) >= 3
    assert max(depth.values()) >= 3
    # Replies carry the name of the person answered, which becomes a mention.
    for reply in replies.exclude(reply_to_author_id=F("author_id")).select_related("reply_to_author"):
        assert reply.reply_to_author is not None
        assert reply.reply_to_author.username.lower() in reply.mentions


def test_the_demo_home_shows_conversations_on_first_start(demo: seed.DemoReport, settings: Any) -> None:
    client = Client()
    assert client.login(username=demo.username, password=demo.password)
    page = client.get("/")
    items = page.context["page"].items
    shown = {tweet.id for tweet in items}
    replies = [tweet for tweet in items if tweet.in_reply_to is not None]
    assert len(replies) >= 3, "the first page of the demo's home has replies"
    # A conversation: a reply on the page together with the tweet it answers.
    assert any(tweet.in_reply_to in shown for tweet in replies)
    assert b"Replying to" in page.content
    demo_user = User.objects.get(username=demo.username)
    expected = list(Tweet.objects.timeline_of(demo_user.pk).order_by("-id").values_list("id", flat=True))
    assert [tweet.entry for tweet in items] == expected[: settings.TIMELINE_PAGE_SIZE]
