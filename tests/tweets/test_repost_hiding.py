"""Hiding outside the home feed (issue 21, item 6): a viewer never sees, on a profile's lists
(Tweets, Tweets & replies, Likes), a repost or a liked tweet whose original's author is hidden from
them (blocked either way, muted), and a quote of such a tweet embeds "This tweet is unavailable"
instead of it (on every list, the tweet's own page and Home). Others still see all of it. Real
Postgres and Redis."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from accounts.models import User
from follows.services import block_create, follow_create, mute_create
from tests.factories import make_user
from tweets.reposts import repost_create
from tweets.services import like_create, tweet_create

pytestmark = pytest.mark.django_db(transaction=True)


def _blocks(viewer: User, ann: User) -> None:
    block_create(blocker=viewer, blocked=ann)


def _blocked_by(viewer: User, ann: User) -> None:
    block_create(blocker=ann, blocked=viewer)


def _mutes(viewer: User, ann: User) -> None:
    mute_create(muter=viewer, muted=ann)


HIDINGS = pytest.mark.parametrize("hide", [_blocks, _blocked_by, _mutes], ids=["blocks", "blocked-by", "mutes"])


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@HIDINGS
def test_a_profile_leaves_out_reposts_and_likes_of_a_hidden_authors_tweets(hide: Callable[[User, User], None]) -> None:
    ann, rea, vic, other = make_user("ann"), make_user("rea"), make_user("vic"), make_user("other")
    original = tweet_create(author=ann, text="annsays hello")
    repost_create(user=rea, tweet_id=original.pk)
    like_create(user=rea, tweet_id=original.pk)
    tweet_create(author=rea, text="rea's own words")
    hide(vic, ann)
    for path in ("/@rea/", "/@rea/?tab=replies", "/@rea/likes/"):
        seen = _client(vic).get(path).content.decode()
        assert "annsays hello" not in seen, path
        assert 'class="tweet-reposted"' not in seen, path
        assert "annsays hello" in _client(other).get(path).content.decode(), path  # only for vic
        assert "annsays hello" in Client().get(path).content.decode(), path  # and not for visitors
    assert "rea&#x27;s own words" in _client(vic).get("/@rea/").content.decode()


@HIDINGS
def test_the_api_profile_lists_leave_them_out_too(hide: Callable[[User, User], None]) -> None:
    ann, rea, vic = make_user("ann"), make_user("rea"), make_user("vic")
    original = tweet_create(author=ann, text="annsays hello")
    repost_create(user=rea, tweet_id=original.pk)
    hide(vic, ann)
    for path in ("/api/v1/users/rea/tweets", "/api/v1/users/rea/tweets-and-replies"):
        items = _client(vic).get(path).json()["items"]
        assert items == [], (path, items)
        assert len(Client().get(path).json()["items"]) == 1, path


@HIDINGS
def test_a_quote_of_a_hidden_authors_tweet_is_unavailable_everywhere(hide: Callable[[User, User], None]) -> None:
    ann, rea, vic, other = make_user("ann"), make_user("rea"), make_user("vic"), make_user("other")
    quoted = tweet_create(author=ann, text="annsays hello")
    quote = tweet_create(author=rea, text="rea quotes #quoting", quote_of=quoted.pk)
    follow_create(follower=vic, followee=rea)
    hide(vic, ann)
    for path in ("/@rea/", f"/tweets/{quote.pk}/", "/search/?q=quotes", "/tags/quoting/", "/"):
        seen = _client(vic).get(path).content.decode()
        assert "rea quotes" in seen, path  # the quote itself stays
        assert "This tweet is unavailable." in seen, path
        assert "annsays hello" not in seen, path
        if path != "/":
            assert "annsays hello" in _client(other).get(path).content.decode(), path
            assert "This tweet is unavailable." not in Client().get(path).content.decode(), path


def test_reposts_never_show_on_search_tags_or_explore() -> None:
    """Guard, not new code: a repost has no text, tags or mentions and explore leaves reposts out,
    so these lists can hold none. Explore is the visitors' landing page (no viewer to hide from)."""
    ann, rea, vic = make_user("ann"), make_user("rea"), make_user("vic")
    original = tweet_create(author=ann, text="annsays #greeting")
    repost_create(user=rea, tweet_id=original.pk)
    mute_create(muter=vic, muted=ann)
    client = _client(vic)
    for path in ("/search/?q=annsays", "/tags/greeting/"):
        assert 'class="tweet-reposted"' not in client.get(path).content.decode(), path


def test_a_profile_with_hidden_quotes_costs_the_same_for_3_or_20(
    settings: Any, django_assert_max_num_queries: Any, redis_round_trips: Any
) -> None:
    """The hidden set is read once per list (and only when it embeds a quote), not per card."""
    settings.TIMELINE_PAGE_SIZE = 20
    ann, rea, vic = make_user("ann"), make_user("rea"), make_user("vic")
    mute_create(muter=vic, muted=ann)
    client = _client(vic)

    def add(n: int) -> None:
        for i in range(n):
            quoted = tweet_create(author=ann if i % 2 else rea, text=f"quoted {i}")
            tweet_create(author=rea, text=f"quote {i}", quote_of=quoted.pk)
            repost_create(user=rea, tweet_id=tweet_create(author=ann, text=f"reposted {i}").pk)

    def cost() -> tuple[int, int]:
        client.get("/@rea/")
        client.get("/@rea/")  # warm
        redis_round_trips.clear()
        with django_assert_max_num_queries(50) as queries:
            html = client.get("/@rea/").content.decode()
        assert "This tweet is unavailable." in html
        assert 'class="tweet-reposted"' not in html
        return len(queries), redis_round_trips.count

    add(3)
    few = cost()
    add(17)
    assert cost() == few
