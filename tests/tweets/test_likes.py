"""Likes and bookmarks: idempotent, exact under concurrency, refused for tweets one may not see."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.db import close_old_connections, connection, transaction
from django.utils import timezone

from tests.factories import make_user
from tests.races import wait_until_a_backend_waits_on_a_lock
from tweethub.models import OutboxTask
from tweethub.ratelimit import RateLimited
from tweets import cards, selectors, services
from tweets.models import Bookmark, Like, Tweet


def _tweet(author: Any, text: str = "hello") -> Tweet:
    return Tweet.objects.create(author=author, text=text)


def _likes(tweet: Tweet) -> int:
    return Tweet.objects.get(pk=tweet.pk).like_count


@pytest.mark.django_db
def test_like_twice_counts_once_and_unlike_takes_it_back() -> None:
    ann, bob = make_user("ann"), make_user("bob")
    tweet = _tweet(ann)
    assert services.like_create(user=bob, tweet_id=tweet.pk) is True
    assert services.like_create(user=bob, tweet_id=tweet.pk) is False  # the double click
    assert _likes(tweet) == 1
    assert Like.objects.filter(tweet=tweet).count() == 1
    assert services.like_delete(user=bob, tweet_id=tweet.pk) is True
    assert services.like_delete(user=bob, tweet_id=tweet.pk) is False
    assert _likes(tweet) == 0


@pytest.mark.django_db
def test_a_like_queues_the_authors_notification_but_never_for_ones_own_tweet() -> None:
    ann, bob = make_user("ann"), make_user("bob")
    tweet = _tweet(ann)
    services.like_create(user=ann, tweet_id=tweet.pk)
    assert not OutboxTask.objects.filter(task="notifications.tasks.notify_task").exists()
    services.like_create(user=bob, tweet_id=tweet.pk)
    row = OutboxTask.objects.get(task="notifications.tasks.notify_task")
    assert row.args == ["like", bob.pk, ann.pk, tweet.pk]


@pytest.mark.django_db
def test_liking_a_missing_or_hidden_tweet_is_refused_and_changes_nothing() -> None:
    ann, bob = make_user("ann"), make_user("bob")
    hidden = _tweet(make_user("sus", is_active=False, suspended_at=timezone.now()))
    for tweet_id in (hidden.pk, 987654321):
        with pytest.raises(Tweet.DoesNotExist):
            services.like_create(user=bob, tweet_id=tweet_id)
        with pytest.raises(Tweet.DoesNotExist):
            services.bookmark_create(user=bob, tweet_id=tweet_id)
    assert not Like.objects.exists()
    assert not Bookmark.objects.exists()
    assert _likes(hidden) == 0
    unverified = make_user("unv", verified=False)
    with pytest.raises(PermissionDenied):
        services.like_create(user=unverified, tweet_id=_tweet(ann).pk)


@pytest.mark.django_db
def test_likes_are_rate_limited(settings: object) -> None:
    settings.RATE_LIMIT_LIKES_PER_USER = "3/1h"  # type: ignore[attr-defined]
    ann, bob = make_user("ann"), make_user("bob")
    tweets = [_tweet(ann, f"t{i}") for i in range(4)]
    for tweet in tweets[:3]:
        services.like_create(user=bob, tweet_id=tweet.pk)
    with pytest.raises(RateLimited):
        services.like_create(user=bob, tweet_id=tweets[3].pk)
    assert _likes(tweets[3]) == 0


@pytest.mark.django_db(transaction=True)
def test_two_likes_at_once_count_two() -> None:
    """Bob's like holds the tweet's row lock until Cid's like waits on it: both count."""
    ann, bob, cid = make_user("ann"), make_user("bob"), make_user("cid")
    tweet = _tweet(ann)
    first_in = threading.Event()
    errors: list[BaseException] = []

    def like_and_hold() -> None:
        try:
            with transaction.atomic():
                services.like_create(user=bob, tweet_id=tweet.pk)
                first_in.set()
                wait_until_a_backend_waits_on_a_lock("the second like")
        except BaseException as error:
            errors.append(error)
            first_in.set()
        finally:
            close_old_connections()
            connection.close()

    holder = threading.Thread(target=like_and_hold)
    holder.start()
    assert first_in.wait(10)
    try:
        assert services.like_create(user=cid, tweet_id=tweet.pk) is True
    finally:
        holder.join(15)
    assert errors == []
    assert _likes(tweet) == 2
    assert Like.objects.filter(tweet=tweet).count() == 2


@pytest.mark.django_db(transaction=True)
def test_a_double_click_racing_itself_counts_one() -> None:
    ann, bob = make_user("ann"), make_user("bob")
    tweet = _tweet(ann)
    first_in = threading.Event()
    results: list[bool] = []
    errors: list[BaseException] = []

    def like_and_hold() -> None:
        try:
            with transaction.atomic():
                results.append(services.like_create(user=bob, tweet_id=tweet.pk))
                first_in.set()
                wait_until_a_backend_waits_on_a_lock("the second click")
        except BaseException as error:
            errors.append(error)
            first_in.set()
        finally:
            close_old_connections()
            connection.close()

    holder = threading.Thread(target=like_and_hold)
    holder.start()
    assert first_in.wait(10)
    try:
        results.append(services.like_create(user=bob, tweet_id=tweet.pk))
    finally:
        holder.join(15)
    assert errors == []
    assert sorted(results) == [False, True]
    assert _likes(tweet) == 1


@pytest.mark.django_db
def test_engagement_is_one_query_for_a_list_and_per_viewer(django_assert_num_queries: object) -> None:
    ann, bob = make_user("ann"), make_user("bob")
    tweets = [_tweet(ann, f"t{i}") for i in range(5)]
    services.like_create(user=bob, tweet_id=tweets[0].pk)
    services.like_create(user=ann, tweet_id=tweets[0].pk)
    services.bookmark_create(user=bob, tweet_id=tweets[1].pk)
    found = cards.cards_for([t.pk for t in tweets], variant="list")
    shown = [found[t.pk] for t in tweets]
    with django_assert_num_queries(1):  # type: ignore[operator]
        seen = selectors.engagement_of(viewer_id=bob.pk, cards=shown)
    assert seen[tweets[0].pk] == selectors.Engagement(likes=2, liked=True, bookmarked=False)
    assert seen[tweets[1].pk] == selectors.Engagement(likes=0, liked=False, bookmarked=True)
    # The counts come with the cards: a visitor's list, or a member's whose marks are known, asks nothing.
    with django_assert_num_queries(0):  # type: ignore[operator]
        visitor = selectors.engagement_of(viewer_id=None, cards=shown[:1])
        known = selectors.engagement_of(viewer_id=bob.pk, cards=shown[:1], known={tweets[0].pk: (True, True)})
    assert visitor[tweets[0].pk] == selectors.Engagement(likes=2)
    assert known[tweets[0].pk] == selectors.Engagement(likes=2, liked=True, bookmarked=True)


@pytest.mark.django_db
def test_liked_and_bookmarked_lists_page_newest_first_and_skip_hidden_tweets() -> None:
    ann, bob = make_user("ann"), make_user("bob")
    tweets = [_tweet(ann, f"t{i}") for i in range(5)]
    for tweet in tweets:
        services.like_create(user=bob, tweet_id=tweet.pk)
        services.bookmark_create(user=bob, tweet_id=tweet.pk)
    first = selectors.liked_tweets(user_id=bob.pk, before=None, limit=3)
    assert [card.id for card in first.items] == [t.pk for t in reversed(tweets)][:3]
    second = selectors.liked_tweets(user_id=bob.pk, before=first.next_cursor, limit=3)
    assert [card.id for card in second.items] == [tweets[1].pk, tweets[0].pk]
    assert second.next_cursor is None
    marks = selectors.bookmarked_tweets(user_id=bob.pk, before=None, limit=10)
    assert len(marks.items) == 5
    type(ann).objects.filter(pk=ann.pk).update(is_active=False)
    assert selectors.bookmarked_tweets(user_id=bob.pk, before=None, limit=10).items == []
    # Removing a bookmark of a tweet that became hidden still works (one's own list).
    assert services.bookmark_delete(user=bob, tweet_id=tweets[0].pk) is True
    with pytest.raises(Tweet.DoesNotExist):
        services.bookmark_delete(user=bob, tweet_id=123456789)


@pytest.mark.django_db
def test_a_deleted_accounts_likes_leave_the_counts() -> None:
    from accounts.services import user_delete

    ann, bob, cid = make_user("ann"), make_user("bob"), make_user("cid")
    tweet = _tweet(ann)
    services.like_create(user=bob, tweet_id=tweet.pk)
    services.like_create(user=cid, tweet_id=tweet.pk)
    services.like_create(user=bob, tweet_id=_tweet(bob, "own").pk)
    user_delete(user=bob)
    assert _likes(tweet) == 1
    assert list(Like.objects.values_list("user_id", flat=True)) == [cid.pk]
