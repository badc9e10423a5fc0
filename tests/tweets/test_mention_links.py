"""@mentions link only to accounts that exist (tweets.rendering): a mention of a name nobody has, or
of a suspended (inactive) account, is plain text instead of a link to a 404 page. Which names exist
costs one query per rendering of a page, whatever its number of tweets and mentions, and none when
the page's tweets come from the cache; cached HTML follows accounts made or gone within
mentions_checked_seconds()."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client
from django.test.utils import override_settings

from accounts.models import User
from tests.factories import make_user
from tweets import rendering
from tweets.cards import cards_for
from tweets.models import Tweet
from tweets.parsing import mentions

pytestmark = pytest.mark.django_db

SHARED_TEMPLATE = "tweets/_tweet_shared.html"


def _tweet(author: User, text: str) -> Tweet:
    return Tweet.objects.create(author=author, text=text, mentions=mentions(text))


def _text_of(html: str, tweet: Tweet) -> str:
    match = re.search(rf'id="tweet-{tweet.pk}".*?<p class="tweet-text" dir="auto">(.*?)</p>', html, re.S)
    assert match is not None, f"tweet {tweet.pk} is not on the page"
    return match.group(1)


def _mention_links(text_html: str) -> list[tuple[str, str]]:
    return re.findall(r'<a class="tweet-mention" href="([^"]+)">([^<]+)</a>', text_html)


def test_only_mentions_of_existing_accounts_are_links(client: Client) -> None:
    ann = make_user("ann")
    make_user("Bob")
    make_user("gone", is_active=False)  # suspended: their profile is a 404 page
    tweet = _tweet(ann, "Thanks @bob, @BOB, @nobody_here and @gone! Mail me at ann@example.com")

    for url in (f"/tweets/{tweet.pk}/", "/@ann/"):
        text = _text_of(client.get(url).content.decode(), tweet)
        assert _mention_links(text) == [("/@bob/", "@bob"), ("/@bob/", "@BOB")], url
        assert text == (
            'Thanks <a class="tweet-mention" href="/@bob/">@bob</a>, '
            '<a class="tweet-mention" href="/@bob/">@BOB</a>, @nobody_here and @gone! Mail me at ann@example.com'
        ), url


def test_a_page_asks_once_which_mentioned_accounts_exist(django_assert_num_queries: Any) -> None:
    authors = [make_user(f"author{n}") for n in range(12)]
    for n, author in enumerate(authors):
        _tweet(author, f"@author{(n + 1) % 12} @nobody{n} and @Author{(n + 2) % 12}")
    ids = list(Tweet.objects.order_by("-id").values_list("id", flat=True))
    cards = cards_for(ids, variant="list")  # cards cached, no HTML yet

    with django_assert_num_queries(1):
        html = rendering.render_tweets([cards[tweet_id] for tweet_id in ids])
    assert all(len(_mention_links(str(item))) == 2 for item in html)
    assert not any("/@nobody" in str(item) for item in html)

    cached = cards_for(ids, variant="list")  # now with their HTML
    with django_assert_num_queries(0):
        assert rendering.render_tweets([cached[tweet_id] for tweet_id in ids]) == html


def test_cached_tweets_follow_accounts_made_and_gone_within_the_bound(client: Client) -> None:
    ann = make_user("ann")
    bob = make_user("bob")
    tweet = _tweet(ann, "Waiting for @newcomer, talking to @bob")
    plain = _tweet(ann, "Nobody mentioned here")
    assert _mention_links(_text_of(client.get("/@ann/").content.decode(), tweet)) == [("/@bob/", "@bob")]

    make_user("newcomer")
    bob.delete()
    # Within the bound the cached rendering is used (no query per page to ask again) ...
    response = client.get("/@ann/")
    assert SHARED_TEMPLATE not in [template.name for template in response.templates]
    assert _mention_links(_text_of(response.content.decode(), tweet)) == [("/@bob/", "@bob")]

    # ... and past it the tweet that mentions people is rendered again, the other one is not.
    with override_settings(AUTHOR_CARD_SECONDS=0):  # as if the bound had passed since the rendering
        response = client.get("/@ann/")
    assert [template.name for template in response.templates].count(SHARED_TEMPLATE) == 1
    html = response.content.decode()
    assert _mention_links(_text_of(html, tweet)) == [("/@newcomer/", "@newcomer")]
    assert _text_of(html, plain) == "Nobody mentioned here"
