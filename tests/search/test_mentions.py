"""Searching a person's name finds the tweets that @mention them (tweets.search): a tweet holds the
username it mentions, never the display name, so the words alone would miss them."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts.models import User
from tests.factories import make_user
from tweets.search import search_tweets
from tweets.services import tweet_create

pytestmark = pytest.mark.django_db


def _texts(query: str) -> list[str]:
    return [tweet.text for tweet in search_tweets(query, before=None, limit=20).items]


@pytest.fixture
def alice() -> User:
    alice = make_user("wonderland", name="Alice Liddell")
    bob, cat = make_user("bob", name="Bob Builder"), make_user("cat", name="Cat Stevens")
    make_user("alicent", name="Alicent Hightower")
    tweet_create(author=bob, text="Tea with @wonderland today")
    tweet_create(author=cat, text="Alice in Chains on the radio")
    tweet_create(author=cat, text="@alicent you were right")
    tweet_create(author=bob, text="Thanks @Wonderland for the book")
    tweet_create(author=bob, text="Liddell Hart wrote about strategy")
    return alice


@pytest.mark.usefixtures("alice")
def test_a_name_finds_the_tweets_mentioning_its_owner() -> None:
    assert _texts("Alice Liddell") == ["Thanks @Wonderland for the book", "Tea with @wonderland today"]
    assert _texts("liddell alice") == _texts("Alice Liddell")
    # A word of the name finds the mentions and, as before, the tweets holding the word.
    assert _texts("liddell") == [
        "Liddell Hart wrote about strategy",
        "Thanks @Wonderland for the book",
        "Tea with @wonderland today",
    ]
    assert _texts("alice") == [
        "Thanks @Wonderland for the book",
        "Alice in Chains on the radio",
        "Tea with @wonderland today",
    ]
    # Whole words only: "Alice" does not name Alicent Hightower.
    assert "@alicent you were right" not in _texts("alice")
    assert _texts("hightower") == ["@alicent you were right"]
    # The username, with or without its '@', in any case.
    assert _texts("@WONDERLAND") == _texts("Alice Liddell")
    # Nobody is named "Alice Cooper": words are ANDed, for names as for text.
    assert _texts("alice cooper") == []


@pytest.mark.usefixtures("alice")
def test_exclusions_apply_to_the_mentioning_tweets_too() -> None:
    assert _texts("liddell -tea -strategy") == ["Thanks @Wonderland for the book"]
    assert _texts("Alice -Liddell") == ["Alice in Chains on the radio"]


def test_a_suspended_accounts_name_finds_nothing(alice: User) -> None:
    alice.is_active = False
    alice.save(update_fields=["is_active"])
    assert _texts("Alice Liddell") == []


@pytest.mark.usefixtures("alice")
def test_the_search_page_shows_them(client: Client) -> None:
    html = client.get("/search/", {"q": "Alice Liddell"}).content.decode()
    people, tweets = html.split('id="tweets-title"', 1)
    assert '<span class="person-handle">@wonderland</span>' in people
    assert tweets.count('<article class="tweet') == 2
    assert 'Thanks <a class="tweet-mention" href="/@wonderland/">@Wonderland</a> for the book' in tweets
    assert 'Tea with <a class="tweet-mention" href="/@wonderland/">@wonderland</a> today' in tweets


@pytest.mark.usefixtures("alice")
def test_one_query_served_by_the_indexes(django_assert_num_queries: Any) -> None:
    for n in range(300):
        make_user(f"filler{n}", name=f"Filler Person {n}")
    search_tweets("Alice Liddell", before=None, limit=20)  # fills the cards
    with django_assert_num_queries(1), CaptureQueriesContext(connection) as captured:
        assert len(search_tweets("Alice Liddell", before=None, limit=20).items) == 2
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE accounts_user")
        cursor.execute("ANALYZE tweets_tweet")
        # What the indexes can do, not what the planner picks for a few rows (a backward scan of
        # the primary key, as for any search: the first 21 matches may come soon).
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
        cursor.execute("EXPLAIN " + captured.captured_queries[0]["sql"])
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "tweets_mentions_gin" in plan
    assert "tweets_search_gin" in plan
    assert "accounts_user_name_trgm" in plan
