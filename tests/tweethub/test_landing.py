"""The landing page (issue 16): everyone's latest tweets ("Explore", paged with ?before=) above the
pitch, cheap to serve, and the demo login on it and on the login page in DEMO_MODE only."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client

from accounts import demo
from adminpanel.seed.common import DEMO_PASSWORD, DEMO_USERNAME
from tests.factories import make_user
from tweets.models import Tweet
from tweets.selectors import explore_tweets

pytestmark = pytest.mark.django_db

DEMO_TEXT = f"<strong>{DEMO_USERNAME}</strong>, password <strong>{DEMO_PASSWORD}</strong>"


@pytest.fixture(autouse=True)
def _fresh_demo_check() -> Iterator[None]:
    """Each test asks Postgres whether the demo account exists (the answer is kept per process)."""
    demo.forget()
    yield
    demo.forget()


def _tweets(count: int) -> list[Tweet]:
    """`count` tweets by as many authors, oldest first."""
    return [Tweet.objects.create(author=make_user(f"author{n}"), text=f"explore tweet {n}") for n in range(count)]


def _listed(html: str) -> list[int]:
    return [int(tweet_id) for tweet_id in re.findall(r'<article[^>]* id="tweet-(\d+)"', html)]


def test_visitors_see_everyones_latest_tweets_above_the_pitch(client: Client, settings: Any) -> None:
    settings.TIMELINE_PAGE_SIZE = 5
    ids = [tweet.id for tweet in _tweets(7)]

    first = client.get("/").content.decode()

    assert _listed(first) == ids[::-1][:5]
    assert first.index('id="hero-title"') < first.index('id="explore-title"') < first.index('id="how-title"')
    assert f'href="?before={ids[2]}"' in first
    older = client.get(f"/?before={ids[2]}").content.decode()
    assert _listed(older) == ids[::-1][5:]
    assert "Older tweets" not in older
    assert "data-more-end" in older  # "You are all caught up", where the list ends
    assert "data-more-end" not in first
    assert 'id="how-title"' not in older  # later pages are for reading on
    assert "Back to the newest" in older


def test_an_empty_site_says_so(client: Client) -> None:
    page = client.get("/").content.decode()

    assert "No tweets yet." in page
    assert _listed(page) == []


def test_explore_skips_deleted_tweets_and_never_offers_an_empty_page(settings: Any) -> None:
    tweets = _tweets(4)
    tweets[1].delete()

    page = explore_tweets(before=None, limit=3)

    assert [card.id for card in page.items] == [tweets[3].id, tweets[2].id, tweets[0].id]
    assert page.next_cursor is None


def test_a_landing_page_is_one_query_with_the_cards_cached(
    client: Client, settings: Any, django_assert_num_queries: Any, django_assert_max_num_queries: Any
) -> None:
    """One query for the ids, whatever the page size; the rows and authors come from the card cache
    (one more query for the missing ones when cold); the demo check is kept in process memory."""
    settings.DEMO_MODE = True
    settings.TIMELINE_PAGE_SIZE = 20
    make_user(DEMO_USERNAME, password=DEMO_PASSWORD)
    _tweets(25)
    with django_assert_max_num_queries(3):  # cold: ids, the missing cards, the demo account
        cold = client.get("/")
    assert len(_listed(cold.content.decode())) == 20

    with django_assert_num_queries(1):  # the ids (the like counts come with the cards: issue 21)
        warm = client.get("/")
    assert _listed(warm.content.decode()) == _listed(cold.content.decode())


def test_the_demo_login_shows_in_demo_mode_when_the_account_exists(client: Client, settings: Any) -> None:
    settings.DEMO_MODE = True
    assert DEMO_TEXT not in client.get("/").content.decode()  # not seeded (yet)
    assert DEMO_TEXT not in client.get("/accounts/login/").content.decode()

    make_user(DEMO_USERNAME, password=DEMO_PASSWORD)

    landing = client.get("/").content.decode()
    assert DEMO_TEXT in landing
    assert landing.index(DEMO_TEXT) < landing.index('id="explore-title"')  # before the list: seen at once
    assert DEMO_TEXT in client.get("/accounts/login/").content.decode()


def test_the_demo_login_shown_works(client: Client, settings: Any) -> None:
    settings.DEMO_MODE = True
    make_user(DEMO_USERNAME, password=DEMO_PASSWORD)

    response = client.post("/accounts/login/", {"username": DEMO_USERNAME, "password": DEMO_PASSWORD})

    assert response.status_code == 302
    assert b"Log out" in client.get("/").content


def test_no_demo_login_outside_demo_mode(client: Client, settings: Any) -> None:
    settings.DEMO_MODE = False
    make_user(DEMO_USERNAME, password=DEMO_PASSWORD)  # an account of that name on a real site

    assert DEMO_TEXT not in client.get("/").content.decode()
    assert DEMO_PASSWORD not in client.get("/accounts/login/").content.decode()


def test_no_demo_login_for_a_deactivated_demo_account(client: Client, settings: Any) -> None:
    settings.DEMO_MODE = True
    make_user(DEMO_USERNAME, password=DEMO_PASSWORD, is_active=False)

    assert DEMO_TEXT not in client.get("/").content.decode()


def test_demo_mode_is_off_unless_asked_for(monkeypatch: pytest.MonkeyPatch) -> None:
    """Never inferred from DEBUG (issue 17): a DEBUG site is not a public demo by accident."""
    from tests.tweethub.test_security_headers import _settings_with_env

    monkeypatch.delenv("DEMO_MODE", raising=False)
    assert _settings_with_env(monkeypatch, DEBUG="1").DEMO_MODE is False
    assert _settings_with_env(monkeypatch, DEBUG="0", DEMO_MODE="1").DEMO_MODE is True
