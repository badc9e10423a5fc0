"""Reposts and quotes on pages: the buttons and counts on cards, the quote box and its embed, the
deleted-quote placeholder, reposts on the reposter's profile, refusals that change nothing (404,
rate limit). Real Postgres and Redis; fan-out is tests/timelines/test_reposts_feed.py's."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from accounts.models import User
from follows.services import block_create
from tests.factories import make_user
from tweets import selectors
from tweets.models import Tweet
from tweets.reposts import repost_create
from tweets.services import tweet_create, tweet_delete

pytestmark = pytest.mark.django_db(transaction=True)


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _snapshot() -> object:
    return sorted(Tweet.objects.values_list("id", "repost_of", "quote_of", "repost_count"))


def test_repost_and_undo_from_a_card_with_the_count() -> None:
    ann, rea = make_user("ann"), make_user("rea")
    original = tweet_create(author=ann, text="share me")
    client = _client(rea)
    page = client.get(f"/@{ann.username}/").content.decode()
    assert f'href="/tweets/{original.pk}/repost/"' in page
    assert f'href="/tweets/{original.pk}/quote/"' in page
    # The link asks first (no CSRF token in a card's shared HTML), back to the page it was on.
    ask = client.get(f"/tweets/{original.pk}/repost/", HTTP_REFERER=f"http://testserver/@{ann.username}/")
    assert ask.status_code == 200
    assert "Repost this tweet?" in ask.content.decode()
    assert f'name="next" value="/@{ann.username}/"' in ask.content.decode()
    assert not Tweet.objects.filter(author=rea).exists()  # asking changes nothing
    response = client.post(f"/tweets/{original.pk}/repost/", {"next": f"/@{ann.username}/"})
    assert response.status_code == 302
    assert response["Location"] == f"/@{ann.username}/"
    client.post(f"/tweets/{original.pk}/repost/")  # a double click counts once
    assert Tweet.objects.get(pk=original.pk).repost_count == 1
    assert selectors.tweet_card(original.pk).repost_count == 1  # the cached count was dropped, refilled
    profile = client.get(f"/@{rea.username}/").content.decode()  # reposts show on the reposter's profile
    assert "share me" in profile
    assert 'class="tweet-reposted"' in profile
    assert ">rea</a> reposted" in profile or "reposted</p>" in profile
    assert f'href="/tweets/{original.pk}/unrepost/"' in profile  # their own repost: Undo
    assert "Undo your repost?" in client.get(f"/tweets/{original.pk}/unrepost/").content.decode()
    assert 'class="tweet-repost-count">1<' in profile
    assert client.post(f"/tweets/{original.pk}/unrepost/").status_code == 302
    assert Tweet.objects.get(pk=original.pk).repost_count == 0
    assert not Tweet.objects.filter(author=rea).exists()
    assert "share me" not in client.get(f"/@{rea.username}/").content.decode()


@pytest.mark.parametrize("why", ["missing", "deleted", "blocked by the author", "blocking the author"])
def test_reposting_or_quoting_a_tweet_one_may_not_see_is_404_and_writes_nothing(why: str) -> None:
    ann, rea = make_user("ann"), make_user("rea")
    tweet = tweet_create(author=ann, text="hello")
    tweet_id = tweet.pk
    if why == "missing":
        tweet_id = tweet.pk + 12345
    elif why == "deleted":
        tweet_delete(tweet_id=tweet.pk, user=ann)
    elif why == "blocked by the author":
        block_create(blocker=ann, blocked=rea)
    else:
        block_create(blocker=rea, blocked=ann)
    before = _snapshot()
    client = _client(rea)
    assert client.post(f"/tweets/{tweet_id}/repost/").status_code == 404
    assert client.get(f"/tweets/{tweet_id}/repost/").status_code == 404
    assert client.get(f"/tweets/{tweet_id}/quote/").status_code == 404
    assert client.post(f"/tweets/{tweet_id}/quote/", {"text": "hm"}).status_code == 404
    assert _snapshot() == before


def test_reposts_share_the_tweet_rate_limit(settings: Any) -> None:
    ann, rea = make_user("ann"), make_user("rea")
    tweets = [tweet_create(author=ann, text=f"t{n}") for n in range(3)]
    settings.RATE_LIMIT_TWEETS_PER_USER = "2/1h"
    client = _client(rea)
    tweet_create(author=rea, text="one of mine")
    assert client.post(f"/tweets/{tweets[0].pk}/repost/").status_code == 302
    before = _snapshot()
    assert client.post(f"/tweets/{tweets[1].pk}/repost/").status_code == 429
    assert _snapshot() == before


def test_a_quote_embeds_the_quoted_tweet_and_says_when_it_is_deleted() -> None:
    ann, rea = make_user("ann"), make_user("rea")
    quoted = tweet_create(author=ann, text="the quoted words")
    client = _client(rea)
    box = client.get(f"/tweets/{quoted.pk}/quote/").content.decode()
    assert "Quote this tweet" in box
    assert "the quoted words" in box
    response = client.post(f"/tweets/{quoted.pk}/quote/", {"text": "my comment"})
    quote = Tweet.objects.get(author=rea)
    assert response.status_code == 302
    assert response["Location"] == f"/tweets/{quote.pk}/"
    assert quote.quote_of == quoted.pk
    page = client.get(f"/@{rea.username}/").content.decode()
    assert "my comment" in page
    assert 'class="tweet-quote"' in page
    assert "the quoted words" in page
    tweet_delete(tweet_id=quoted.pk, user=ann)
    page = client.get(f"/@{rea.username}/").content.decode()
    assert "my comment" in page  # the quote stays
    assert "the quoted words" not in page
    assert "This tweet was deleted." in page
    detail = client.get(f"/tweets/{quote.pk}/").content.decode()
    assert "This tweet was deleted." in detail


def test_an_empty_quote_comes_back_with_the_message() -> None:
    ann, rea = make_user("ann"), make_user("rea")
    quoted = tweet_create(author=ann, text="hello")
    before = _snapshot()
    response = _client(rea).post(f"/tweets/{quoted.pk}/quote/", {"text": "   "})
    assert response.status_code == 400
    assert "Write something first." in response.content.decode()
    assert _snapshot() == before


def test_pinning_a_repost_is_refused() -> None:
    ann, rea = make_user("ann"), make_user("rea")
    repost = repost_create(user=rea, tweet_id=tweet_create(author=ann, text="x").pk)
    assert _client(rea).post(f"/tweets/{repost.pk}/pin/").status_code == 403
    assert not Tweet.objects.filter(pinned=True).exists()
