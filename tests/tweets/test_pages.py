"""The tweet page, the tag page, the trending page and the trends sidebar, as a visitor sees them."""

from __future__ import annotations

import re
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

import pytest
from django.template.loader import render_to_string
from django.test import Client

from accounts.models import User
from tests.factories import make_user
from tweethub.ids import MAX_ID
from tweets import trends
from tweets.models import Tweet
from tweets.parsing import hashtags

pytestmark = pytest.mark.django_db

MaxQueries = Callable[[int], AbstractContextManager[Any]]


def _tweet(author: User, text: str, **fields: Any) -> Tweet:
    return Tweet.objects.create(author=author, text=text, tags=hashtags(text), **fields)


def _title(html: str) -> str:
    match = re.search(r"<title>(.*?)</title>", html, re.S)
    assert match
    return match.group(1)


def _tweet_ids(html: str) -> list[int]:
    return [int(value) for value in re.findall(r'data-tweet-id="(\d+)"', html)]


@pytest.fixture
def ann() -> User:
    return make_user("ann", name="Ann Example")


# --- The tweet page --------------------------------------------------------------------------------


def test_the_tweet_page_shows_the_tweet_with_links_and_a_proper_title(client: Client, ann: User) -> None:
    make_user("bob")  # mentions link to accounts that exist (tests/tweets/test_mention_links.py)
    tweet = _tweet(ann, "Reading about #Django with @bob: https://example.com/a?b=1&c=2 <3")
    response = client.get(f"/tweets/{tweet.pk}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert (
        _title(html) == "Ann Example on TweetHub: “Reading about #Django with @bob: https://example.com/a?b=1&amp;…”"
    )
    assert '<a class="tweet-tag" href="/tags/django/">#Django</a>' in html
    assert '<a class="tweet-mention" href="/@bob/">@bob</a>' in html
    assert 'href="https://example.com/a?b=1&amp;c=2"' in html
    assert "&lt;3" in html
    assert _tweet_ids(html) == [tweet.pk]
    # A visitor gets no delete or pin buttons.
    assert "/delete/" not in html
    assert "/pin/" not in html


def test_hostile_text_and_names_are_escaped_everywhere_on_the_tweet_page(client: Client) -> None:
    evil = make_user("evil", name='<img src=x onerror=alert(1)>"')
    tweet = _tweet(evil, '</title><script>alert(1)</script>"><b>#x')
    html = client.get(f"/tweets/{tweet.pk}/").content.decode()
    assert "<script>alert" not in html
    assert "<img src=x" not in html
    assert "</title><script>" not in html
    assert "&lt;/title&gt;&lt;script&gt;" in html


def test_the_author_sees_pin_and_delete_on_their_tweet(client: Client, ann: User) -> None:
    tweet = _tweet(ann, "mine")
    client.force_login(ann)
    html = client.get(f"/tweets/{tweet.pk}/").content.decode()
    assert f'action="/tweets/{tweet.pk}/pin/"' in html
    assert f'action="/tweets/{tweet.pk}/delete/"' in html
    assert 'name="csrfmiddlewaretoken"' in html


@pytest.mark.parametrize("path", ["/tweets/1/", f"/tweets/{MAX_ID}/", "/tweets/99999999999999999999999/"])
def test_an_unknown_tweet_is_404(client: Client, ann: User, path: str) -> None:
    _tweet(ann, "exists")
    response = client.get(path)
    assert response.status_code == 404
    assert "We could not find that page" in response.content.decode()


def test_the_tweet_page_costs_a_fixed_number_of_queries(
    client: Client, ann: User, django_assert_max_num_queries: MaxQueries
) -> None:
    tweet = _tweet(ann, "#a #b #c @x @y @z https://example.com")
    client.force_login(ann)
    client.get("/tweets/1/")  # the first request of a session also records last_active
    # The logged-in user, the tweet with its author, the viewer's hidden accounts (blocks and
    # mutes: cached after this), the ids of its replies (a thread's page: tests/tweets/test_replies.py),
    # the tweet's likes for this viewer (issue 21).
    with django_assert_max_num_queries(5):
        assert client.get(f"/tweets/{tweet.pk}/").status_code == 200


# --- The tag page ----------------------------------------------------------------------------------


def test_the_tag_page_is_case_insensitive_and_lists_newest_first(client: Client, ann: User) -> None:
    bob = make_user("bob")
    older = _tweet(ann, "Coffee at the #café")
    newer = _tweet(bob, "Another #CAFÉ, another day")
    _tweet(ann, "#cafe without the accent is another tag")
    _tweet(ann, "no tag here, cafe")
    for path in ("/tags/café/", "/tags/Café/", "/tags/CAF%C3%89/", "/tags/cafe%CC%81/"):
        response = client.get(path)
        assert response.status_code == 200, path
        html = response.content.decode()
        assert _tweet_ids(html) == [newer.pk, older.pk], path
        assert _title(html) == "#café · TweetHub"


def test_the_tag_page_has_an_empty_state(client: Client) -> None:
    response = client.get("/tags/nothinghere/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "No tweets with #nothinghere yet." in html
    assert "Older tweets" not in html


@pytest.mark.parametrize("tag", ["2024", "a%20b", "%3Cscript%3E", "a%00b", "a" * 101, "%F0%9F%99%82", "%E2%80%AE"])
def test_what_is_not_a_tag_has_no_tag_page(client: Client, tag: str) -> None:
    response = client.get(f"/tags/{tag}/")
    assert response.status_code == 404
    assert "<script>" not in response.content.decode()


def test_the_tag_page_pages_with_a_cursor(client: Client, ann: User, settings: Any) -> None:
    settings.TIMELINE_PAGE_SIZE = 3
    ids = [_tweet(ann, f"#paged number {n}").pk for n in range(7)]
    newest_first = ids[::-1]

    html = client.get("/tags/paged/").content.decode()
    assert _tweet_ids(html) == newest_first[:3]
    cursor = re.search(r'href="\?before=(\d+)"', html)
    assert cursor
    assert int(cursor.group(1)) == newest_first[2]

    html = client.get(f"/tags/paged/?before={cursor.group(1)}").content.decode()
    assert _tweet_ids(html) == newest_first[3:6]
    cursor = re.search(r'href="\?before=(\d+)"', html)
    assert cursor

    html = client.get(f"/tags/paged/?before={cursor.group(1)}").content.decode()
    assert _tweet_ids(html) == newest_first[6:]
    assert "?before=" not in html  # the last page offers no "Older tweets"


def test_no_older_link_when_a_page_is_exactly_full(client: Client, ann: User, settings: Any) -> None:
    settings.TIMELINE_PAGE_SIZE = 2
    _tweet(ann, "#full one")
    _tweet(ann, "#full two")
    html = client.get("/tags/full/").content.decode()
    assert len(_tweet_ids(html)) == 2
    assert "?before=" not in html


@pytest.mark.parametrize(
    "cursor", ["abc", "-5", "0", "1.5", "\uff11\uff12\uff13", "99999999999999999", str(MAX_ID + 1), "1e9", " 5"]
)
def test_a_malformed_cursor_is_400_not_500(client: Client, cursor: str) -> None:
    response = client.get("/tags/anything/", {"before": cursor})
    assert response.status_code == 400
    assert "We could not understand that request" in response.content.decode()


def test_the_tag_page_costs_the_same_queries_for_one_or_many_tweets(
    client: Client, ann: User, django_assert_max_num_queries: MaxQueries
) -> None:
    client.force_login(ann)
    _tweet(ann, "#busy first")
    client.get("/tags/busy/")  # the first request of a session also records last_active
    # + the unread badges and the list's likes for this viewer (issue 21: one query each)
    with django_assert_max_num_queries(4):  # the logged-in user, the page's ids (cards cached)
        client.get("/tags/busy/")
    for n in range(15):
        author = make_user(f"writer{n}")
        _tweet(author, f"#busy from writer {n} @ann https://example.com/{n}", pinned=n == 0)
    with django_assert_max_num_queries(5):  # cold: plus ONE query for all the missing cards
        response = client.get("/tags/busy/")
    assert len(_tweet_ids(response.content.decode())) == 16
    with django_assert_max_num_queries(4):
        assert _tweet_ids(client.get("/tags/busy/").content.decode()) == _tweet_ids(response.content.decode())


# --- Trending: page and sidebar --------------------------------------------------------------------


def test_the_trending_page_ranks_tags(client: Client) -> None:
    trends.record(["python", "django"])
    trends.record(["python"])
    trends.record(["café"])
    response = client.get("/trending/")
    assert response.status_code == 200
    html = response.content.decode()
    assert _title(html) == "Trending · TweetHub"
    links = re.findall(r'class="trend-name" href="([^"]+)"', html)
    assert links == ["/tags/python/", "/tags/caf%C3%A9/", "/tags/django/"]
    assert re.findall(r"share-(\d+)", html) == ["100", "50", "50"]


def test_the_trending_page_has_an_empty_state(client: Client) -> None:
    html = client.get("/trending/").content.decode()
    assert "Nothing is trending yet." in html


def test_the_sidebar_shows_trends_without_sql(
    client: Client, ann: User, django_assert_num_queries: MaxQueries
) -> None:
    trends.record(["sidebar", "other"])
    trends.record(["sidebar"])
    with django_assert_num_queries(0):
        html = render_to_string("tweets/_trending_sidebar.html")
    assert re.findall(r'<li><a href="([^"]+)">', html) == ["/tags/sidebar/", "/tags/other/"]
    assert 'href="/trending/"' in html
    # The home page includes it.
    client.force_login(ann)
    assert '<a href="/tags/sidebar/"><bdi>#sidebar</bdi></a>' in client.get("/").content.decode()


def test_pages_still_render_when_redis_is_down(client: Client, ann: User, settings: Any) -> None:
    tweet = _tweet(ann, "#resilient tweet")
    settings.FEEDS_REDIS_URL = "unix:///nonexistent/redis.sock"
    for path in ("/trending/", "/tags/resilient/", f"/tweets/{tweet.pk}/"):
        response = client.get(path)
        assert response.status_code == 200, path
    assert "Nothing is trending yet." in client.get("/trending/").content.decode()


# --- Markup a strict Content-Security-Policy accepts -----------------------------------------------


def test_tweet_pages_have_no_inline_script_handlers_or_styles(client: Client, ann: User) -> None:
    """A later CSP forbids inline script, event handlers and style attributes: the counter is an
    external, deferred file, and the trending bars are classes."""
    tweet = _tweet(ann, "#csp check https://example.com")
    trends.record(["csp"])
    client.force_login(ann)
    pages = {
        "compose": client.post("/tweets/", {"text": ""}),
        "detail": client.get(f"/tweets/{tweet.pk}/"),
        "tag": client.get("/tags/csp/"),
        "trending": client.get("/trending/"),
    }
    for name, response in pages.items():
        html = response.content.decode()
        for script in re.findall(r"<script\b[^>]*>", html):
            assert " src=" in script, name
            assert " defer" in script, name
        assert not re.search(r"<[^>]+\son[a-z]+\s*=", html), name
        assert not re.search(r"<[^>]+\sstyle\s*=", html), name
    assert '<script src="/static/js/compose.js" defer></script>' in pages["compose"].content.decode()
    assert client.get("/static/js/compose.js").status_code == 200
