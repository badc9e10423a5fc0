"""An empty home timeline offers people to follow (follows/templatetags/who_to_follow.py) instead of
asking a member who may not tweet yet to tweet; a timeline with tweets asks for nothing more."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from accounts.models import User
from follows.services import follow_create
from tests.factories import make_user
from tweets.models import Tweet

pytestmark = pytest.mark.django_db


def _client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _offered(html: str) -> list[str]:
    block = html.split('class="people-list who-to-follow"', 1)
    if len(block) == 1:
        return []
    return re.findall(r'<span class="person-handle">@(\w+)</span>', block[1].split("</ul>", 1)[0])


def _popular(name: str, followers: int) -> User:
    star = make_user(name)
    for n in range(followers):
        follow_create(follower=make_user(f"{name}fan{n}"), followee=star)
    return star


def test_an_unconfirmed_member_is_offered_people_not_asked_to_tweet(django_assert_max_num_queries: Any) -> None:
    _popular("big", 3)
    _popular("mid", 2)
    _popular("small", 1)
    newbie = make_user("newbie", verified=False)
    client = _client_for(newbie)
    client.get("/")  # cold caches: the page frame, the session
    with django_assert_max_num_queries(4):
        response = client.get("/")
    html = response.content.decode()
    assert "Your timeline is empty." in html
    assert "Tweet something" not in html
    assert "Once you confirm your email address you can follow people and tweet." in html
    # Most followed first; the member cannot follow yet, and the buttons say why.
    assert _offered(html) == ["big", "mid", "small"]  # not the viewer, nor accounts nobody follows
    assert "3 followers" in html
    assert "Confirm your email to follow" in html
    assert '<link rel="stylesheet" href="/static/css/follows.css">' in html


def test_a_member_is_offered_friends_of_friends_first_and_never_whom_they_follow() -> None:
    _popular("big", 3)
    me, friend, far = make_user("me"), make_user("friend"), make_user("far")
    follow_create(follower=me, followee=friend)
    follow_create(follower=friend, followee=far)
    html = _client_for(me).get("/").content.decode()
    assert "Tweet something, or follow people to see their tweets here." in html
    offered = _offered(html)
    assert offered[0] == "far"
    assert "big" in offered
    assert "friend" not in offered
    assert "me" not in offered
    assert "Followed by @friend" in html
    # A confirmed member can follow from here.
    assert 'action="/@far/follow/"' in html


def test_a_timeline_with_tweets_offers_nobody() -> None:
    _popular("big", 2)
    me = make_user("me")
    Tweet.objects.create(author=me, text="my own tweet")
    html = _client_for(me).get("/").content.decode()
    assert "my own tweet" in html
    assert "Your timeline is empty" not in html
    assert _offered(html) == []
    assert "You\u2019re all caught up." in html
