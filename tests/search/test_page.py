"""GET /search/?q=: people (with follow buttons) first, then tweets; safe for any input."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from follows.services import follow_create
from tests.factories import make_user
from tweets.services import tweet_create
from tweets.views import clean_query

pytestmark = pytest.mark.django_db


def _handles(html: str) -> list[str]:
    return re.findall(r'<span class="person-handle">@(\w+)</span>', html)


def _tweet_ids(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'data-tweet-id="(\d+)"', html)]


def test_empty_query_shows_just_the_form(client: Client) -> None:
    make_user("ann")
    for params in ({}, {"q": ""}, {"q": "   \t  "}):
        response = client.get("/search/", params)
        html = response.content.decode()
        assert response.status_code == 200
        assert '<form method="get" action="/search/" role="search"' in html
        assert '<label for="search-q">' in html
        assert "People</h2>" not in html
        assert "Tweets</h2>" not in html


def test_people_first_then_tweets(client: Client) -> None:
    ann = make_user("ann", name="Ann Marlowe")
    make_user("annabel", name="Annabel Lee")
    make_user("zed", name="Zed")
    tweet_create(author=make_user("zed2", name="Zee"), text="I met ann yesterday")
    html = client.get("/search/", {"q": "ANN"}).content.decode()
    assert _handles(html) == ["ann", "annabel"]
    assert html.index("People</h2>") < html.index("Tweets</h2>") < html.index("I met ann yesterday")
    assert len(_tweet_ids(html)) == 1
    assert 'value="ANN"' in html
    assert "Log in to follow" in html
    assert ann.name in html


def test_follow_buttons_reflect_the_viewer(client: Client) -> None:
    viewer, ann = make_user("viewer"), make_user("ann")
    make_user("annie")
    follow_create(follower=viewer, followee=ann)
    client.force_login(viewer)
    html = client.get("/search/", {"q": "ann"}).content.decode()
    assert 'action="/@ann/unfollow/"' in html
    assert 'action="/@annie/follow/"' in html
    assert '<input type="hidden" name="next" value="/search/?q=ann">' in html


def test_tweets_are_paged_by_cursor_and_keep_the_query(client: Client, settings: Any) -> None:
    settings.TIMELINE_PAGE_SIZE = 2
    ann = make_user("ann")
    ids = [tweet_create(author=ann, text=f"needle {n}").pk for n in range(5)]
    seen: list[int] = []
    url: str | None = "/search/?q=needle"
    while url:
        html = client.get(url).content.decode()
        seen += _tweet_ids(html)
        match = re.search(r'href="(\?q=needle&amp;before=\d+)"', html)
        url = "/search/" + match.group(1).replace("&amp;", "&") if match else None
        if url:
            assert "People</h2>" not in client.get(url).content.decode()
    assert seen == ids[::-1]
    assert client.get("/search/", {"q": "needle", "before": "x"}).status_code == 400


HOSTILE = [
    "<script>alert(1)</script>",
    "'; drop table accounts_user; --",
    "%",
    "_",
    '"><img src=x onerror=alert(1)>',
    "Ünïcødé 日本語 🙂",
    "a\x00b",
    "x" * 10_000,
    "#",
    "@",
    "&amp;",
]


@pytest.mark.parametrize("query", HOSTILE)
def test_hostile_queries_are_200_and_escaped(client: Client, query: str) -> None:
    tweet_create(author=make_user("ann"), text="<script>alert(1)</script> is not a tweet we run")
    response = client.get("/search/", {"q": query})
    html = response.content.decode()
    assert response.status_code == 200
    assert "<script>alert" not in html
    assert "<img src=x" not in html
    assert '"><img' not in html


def test_hostile_query_is_shown_escaped(client: Client) -> None:
    html = client.get("/search/", {"q": '<b>"bold"</b>'}).content.decode()
    assert 'value="&lt;b&gt;&quot;bold&quot;&lt;/b&gt;"' in html
    assert "“&lt;b&gt;&quot;bold&quot;&lt;/b&gt;”" in html


def test_clean_query() -> None:
    assert clean_query("  hello \t\n world  ") == "hello world"
    assert clean_query("a\x00b\u200bc") == "a b c"
    assert clean_query("x" * 10_000) == "x" * 100
    assert clean_query("\x00\x01") == ""


def test_long_query_is_cut_to_100_characters(client: Client) -> None:
    html = client.get("/search/", {"q": "word " * 2000}).content.decode()
    assert f'value="{("word " * 20).strip()}"' in html


def test_constant_number_of_queries(client: Client, django_assert_max_num_queries: Any) -> None:
    viewer = make_user("viewer")
    for n in range(20):
        person = make_user(f"match{n}", name=f"Match Person {n}")
        tweet_create(author=person, text=f"a match made {n}")
        if n % 2:
            follow_create(follower=viewer, followee=person)
    client.force_login(viewer)
    client.get("/search/")  # a session's first request may record last_active; not this page's cost
    # session user, people, followed-among, tweets; cold: plus ONE for the missing cards
    # issue 21: + the unread badges and the list's likes (one query each)
    with django_assert_max_num_queries(7):
        html = client.get("/search/", {"q": "match"}).content.decode()
    assert html.count(">Unfollow</button>") == 10
    assert len(_tweet_ids(html)) == 20
    with django_assert_max_num_queries(6):  # issue 21: + the unread badges and the list's likes
        assert len(_tweet_ids(client.get("/search/", {"q": "match"}).content.decode())) == 20
