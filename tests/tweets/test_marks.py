"""A member's likes and bookmarks cached for the home page (tweets.marks) and like counts in the
tweet cards: a warm home page shows every change at once with no SQL query, a fill that read
Postgres before a change is refused, tweets below the floor are asked of Postgres."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import User
from accounts.services import user_delete
from follows.services import follow_create
from tests.factories import make_user
from tweethub.redis import feeds
from tweets import cards, marks, selectors, services

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("eager_tasks")]


def _member(name: str) -> User:
    return make_user(name, last_active=timezone.now())


def _buttons(html: str, tweet_id: int) -> tuple[str, str, str]:
    """(like aria-pressed, like count, bookmark aria-pressed) under a tweet."""
    article = html[html.index(f'id="tweet-{tweet_id}"') :]
    like = re.search(r'class="tweet-action tweet-like" aria-pressed="(\w+)" data-likes="(\d+)"', article)
    mark = re.search(r'class="tweet-action tweet-bookmark" aria-pressed="(\w+)"', article)
    assert like, article[:2000]
    assert mark, article[:2000]
    return like.group(1), like.group(2), mark.group(1)


def test_a_warm_home_shows_each_like_and_bookmark_at_once_with_no_query(
    client: Client, django_assert_num_queries: Any
) -> None:
    ann, bob = _member("ann"), _member("bob")
    follow_create(follower=bob, followee=ann)
    tweet = services.tweet_create(author=ann, text="like me")
    client.force_login(bob)
    client.get("/")  # cold: builds the feed
    client.get("/")  # fills the caches, the marks included
    with django_assert_num_queries(0):
        assert _buttons(client.get("/").content.decode(), tweet.pk) == ("false", "0", "false")
    steps: list[tuple[Callable[[], bool], tuple[str, str, str]]] = [
        (lambda: services.like_create(user=bob, tweet_id=tweet.pk), ("true", "1", "false")),
        (lambda: services.bookmark_create(user=bob, tweet_id=tweet.pk), ("true", "1", "true")),
        (lambda: services.like_create(user=ann, tweet_id=tweet.pk), ("true", "2", "true")),
        (lambda: services.like_delete(user=bob, tweet_id=tweet.pk), ("false", "1", "true")),
        (lambda: services.bookmark_delete(user=bob, tweet_id=tweet.pk), ("false", "1", "false")),
    ]
    for change, shown in steps:
        change()
        client.get("/")  # the card whose count was dropped is refilled (one query) ...
        with django_assert_num_queries(0):  # ... and then the page is warm again
            assert _buttons(client.get("/").content.decode(), tweet.pk) == shown


def test_a_fill_that_read_postgres_before_a_change_is_not_stored() -> None:
    ann, bob = _member("ann"), _member("bob")
    tweet = services.tweet_create(author=ann, text="hello")
    # A page missed bob's marks and saw generation "0"; meanwhile a like committed.
    seen = marks.Read(user_id=bob.pk, tweet_ids=[tweet.pk], values=[None, None, None], generation="0")
    services.like_create(user=bob, tweet_id=tweet.pk)
    assert marks.fill(seen) == {tweet.pk: (True, False)}  # the page shows what it read
    assert marks.decode(marks.Read(user_id=bob.pk, tweet_ids=[tweet.pk], values=[None], generation="1")) is None
    assert not feeds().exists(marks.key(bob.pk))  # but keeps nothing: its generation is old


def test_tweets_below_the_floor_are_asked_of_postgres(django_assert_num_queries: Any) -> None:
    ann, bob = _member("ann"), _member("bob")
    old, new = (services.tweet_create(author=ann, text=text) for text in ("old", "new"))
    services.like_create(user=bob, tweet_id=old.pk)
    read = marks.Read(user_id=bob.pk, tweet_ids=[new.pk, old.pk], values=[str(new.pk), None, None], generation="0")
    known = marks.decode(read)
    assert known == {new.pk: (False, False)}  # the old tweet is below the floor: unknown
    found = cards.cards_for([new.pk, old.pk], variant="list")
    with django_assert_num_queries(1):
        seen = selectors.engagement_of(viewer_id=bob.pk, cards=[found[new.pk], found[old.pk]], known=known)
    assert seen[old.pk] == selectors.Engagement(likes=1, liked=True)
    assert seen[new.pk] == selectors.Engagement(likes=0)


def test_a_deleted_account_leaves_the_cached_like_counts() -> None:
    ann, bob = _member("ann"), _member("bob")
    tweet = services.tweet_create(author=ann, text="liked by bob")
    services.like_create(user=bob, tweet_id=tweet.pk)
    assert cards.cards_for([tweet.pk], variant="list")[tweet.pk].like_count == 1  # cached now
    user_delete(user=bob)
    assert cards.cards_for([tweet.pk], variant="list")[tweet.pk].like_count == 0
