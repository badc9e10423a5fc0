"""Likes and bookmarks on pages: the buttons work without JavaScript, counts stay right while the
cards are cached, a tweet list costs the same queries and round trips for few or many cards, and
nobody reaches another member's bookmarks."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import User
from follows.services import follow_create
from tests.factories import make_user
from tweets import services
from tweets.models import Bookmark, Like, Tweet

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("eager_tasks")]


def _member(name: str) -> User:
    return make_user(name, last_active=timezone.now())


def _like_button(html: str, tweet_id: int) -> tuple[str, str]:
    """(aria-pressed, count) of the like button under a tweet."""
    article = html[html.index(f'id="tweet-{tweet_id}"') :]
    match = re.search(r'class="tweet-action tweet-like" aria-pressed="(\w+)" data-likes="(\d+)"', article)
    assert match, article[:2000]
    return match.group(1), match.group(2)


def test_like_and_unlike_by_form_come_back_to_the_page_with_the_count(client: Client) -> None:
    ann, bob = _member("ann"), _member("bob")
    tweet = services.tweet_create(author=ann, text="like me")
    client.force_login(bob)
    page = client.get("/@ann/").content.decode()
    assert _like_button(page, tweet.pk) == ("false", "0")
    response = client.post(f"/tweets/{tweet.pk}/like/", {"next": "/@ann/"})
    assert response.status_code == 302
    assert response["Location"] == "/@ann/"
    client.post(f"/tweets/{tweet.pk}/like/", {"next": "/@ann/"})  # a second click: still one
    # The cards are cached by now: the count is read per page, so it is right anyway.
    assert _like_button(client.get("/@ann/").content.decode(), tweet.pk) == ("true", "1")
    client.force_login(ann)
    assert _like_button(client.get("/@ann/").content.decode(), tweet.pk) == ("false", "1")
    client.force_login(bob)
    client.post(f"/tweets/{tweet.pk}/unlike/", {"next": "/@ann/"})
    assert _like_button(client.get("/@ann/").content.decode(), tweet.pk) == ("false", "0")
    # Visitors see the count, no buttons.
    client.logout()
    html = Client().get("/@ann/").content.decode()
    assert 'class="tweet-likes" data-likes="0"' in html
    assert 'tweet-like"' not in html


@pytest.mark.parametrize("action", ["like", "unlike", "bookmark", "unbookmark"])
def test_actions_on_a_missing_or_hidden_tweet_are_a_404_and_change_nothing(client: Client, action: str) -> None:
    bob = _member("bob")
    gone = _member("gone")
    hidden = Tweet.objects.create(author=gone, text="x")
    User.objects.filter(pk=gone.pk).update(is_active=False, suspended_at=timezone.now())
    client.force_login(bob)
    for tweet_id in (hidden.pk, 987654321):
        response = client.post(f"/tweets/{tweet_id}/{action}/")
        assert response.status_code == 404, (action, tweet_id)
    assert not Like.objects.exists()
    assert not Bookmark.objects.exists()


def test_visitors_are_sent_to_log_in_and_back(client: Client) -> None:
    tweet = Tweet.objects.create(author=_member("ann"), text="x")
    response = client.post(f"/tweets/{tweet.pk}/like/", {"next": "/@ann/"})
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=/%40ann/")
    assert client.get("/bookmarks/").status_code == 302
    assert not Like.objects.exists()


def test_bookmarks_are_private(client: Client) -> None:
    ann, bob = _member("ann"), _member("bob")
    tweet = services.tweet_create(author=ann, text="keep me")
    client.force_login(bob)
    client.post(f"/tweets/{tweet.pk}/bookmark/")
    assert "keep me" in client.get("/bookmarks/").content.decode()
    client.force_login(ann)
    html = client.get("/bookmarks/").content.decode()
    assert "keep me" not in html
    assert "No bookmarks yet" in html
    assert (
        'aria-pressed="false"' in client.get(f"/tweets/{tweet.pk}/").content.decode().split("tweet-bookmark")[1][:40]
    )


def test_the_likes_tab_lists_liked_tweets(client: Client) -> None:
    ann, bob = _member("ann"), _member("bob")
    liked = services.tweet_create(author=ann, text="liked one")
    services.tweet_create(author=ann, text="not liked")
    services.like_create(user=bob, tweet_id=liked.pk)
    html = client.get("/@bob/likes/").content.decode()
    assert "liked one" in html
    assert "not liked" not in html
    assert client.get("/@BOB/likes/").status_code == 301
    assert client.get("/@nobody/likes/").status_code == 404


@pytest.mark.parametrize("path", ["/", "/@ann/", "/@bob/likes/", "/bookmarks/", "/tags/cheap/"])
def test_a_tweet_list_costs_the_same_for_3_or_20_cards(
    client: Client, settings: Any, path: str, django_assert_max_num_queries: Any, redis_round_trips: Any
) -> None:
    settings.TIMELINE_PAGE_SIZE = 20
    ann, bob = _member("ann"), _member("bob")
    follow_create(follower=bob, followee=ann)
    client.force_login(bob)

    def add(n: int) -> None:
        for i in range(n):
            tweet = services.tweet_create(author=ann, text=f"tweet {i} #cheap")
            services.like_create(user=bob, tweet_id=tweet.pk)
            services.bookmark_create(user=bob, tweet_id=tweet.pk)

    def cost() -> tuple[int, int]:
        client.get(path)
        client.get(path)  # warm
        redis_round_trips.clear()
        with django_assert_max_num_queries(50) as queries:
            assert client.get(path).status_code == 200
        return len(queries), redis_round_trips.count

    add(3)
    few = cost()
    add(17)
    many = cost()
    assert many == few, (path, few, many)
