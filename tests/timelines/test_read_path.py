"""The warm home timeline: one Redis round trip and no SQL, whatever the number of cards and
followees, celebrities included; and every way the fast path could be wrong sends it to SQL."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test.utils import override_settings
from django.utils import timezone

from accounts.models import FanoutMode, User, UserStats
from accounts.services import profile_update
from follows import feedstate
from follows.services import follow_create, follow_delete
from tests.conftest import RedisRoundTrips, feeds_apart, flush_feeds
from tests.factories import make_user
from tests.oracles import home_timeline_oracle
from timelines import services, store
from timelines.selectors import home_timeline
from tweets.services import tweet_create, tweet_delete

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("eager_tasks")]


def _member(name: str) -> User:
    return make_user(name, last_active=timezone.now())


def _ids(user: User, limit: int = 20, before: int | None = None) -> list[int]:
    return [card.id for card in home_timeline(user_id=user.pk, before=before, limit=limit).items]


@pytest.mark.parametrize("followees", [5, 60])
def test_a_warm_page_is_one_round_trip_and_no_sql(
    followees: int, redis_round_trips: RedisRoundTrips, django_assert_num_queries: Any
) -> None:
    reader = _member("reader")
    celebrity = _member("celebrity")
    friends = [_member(f"friend{n}") for n in range(followees)]
    for friend in [*friends, celebrity]:
        follow_create(follower=reader, followee=friend)
    with override_settings(CELEBRITY_THRESHOLD=0):  # one follower more makes it a celebrity
        follow_create(follower=_member("fan"), followee=celebrity)
    assert UserStats.objects.get(user_id=celebrity.pk).fanout_mode == FanoutMode.PULL
    services.feed_rebuild(user_id=reader.pk)
    for n in range(25):
        tweet_create(author=friends[n % followees], text=f"hello {n} #tag @reader https://example.com/{n}")
    for n in range(3):
        tweet_create(author=celebrity, text=f"famous {n}")
    services.author_list_rebuild(author_id=celebrity.pk)
    home_timeline(user_id=reader.pk, before=None, limit=20)  # cold: fills pull set and cards

    redis_round_trips.clear()
    with django_assert_num_queries(0):
        page = home_timeline(user_id=reader.pk, before=None, limit=20)
    # One per server involved: the feeds server, and the feed's own when feeds are sharded.
    assert redis_round_trips.count == (2 if feeds_apart() else 1), redis_round_trips.sent
    assert page.source == "feed"
    assert [card.id for card in page.items] == home_timeline_oracle(reader.pk)[:20]
    assert {card.author_id for card in page.items} >= {celebrity.pk}


def test_a_celebrity_without_a_list_is_merged_from_sql_and_the_list_is_asked_for() -> None:
    reader, celebrity = _member("reader"), _member("celebrity")
    follow_create(follower=reader, followee=celebrity)
    UserStats.objects.filter(user_id=celebrity.pk).update(fanout_mode=FanoutMode.PULL)
    feedstate.pull_version_bump()
    services.feed_rebuild(user_id=reader.pk)
    tweet = tweet_create(author=celebrity, text="not fanned out")
    asked: list[int] = []

    page = home_timeline(user_id=reader.pk, before=None, limit=10, on_missing_list=asked.append)

    assert [card.id for card in page.items] == [tweet.id]
    assert asked == [celebrity.pk]
    services.author_list_rebuild(author_id=celebrity.pk)
    newer = tweet_create(author=celebrity, text="pushed into the list on commit")
    page = home_timeline(user_id=reader.pk, before=None, limit=10)
    assert [card.id for card in page.items] == [newer.id, tweet.id]
    assert page.source == "feed"


def test_a_mode_change_reaches_every_reader_at_once() -> None:
    """The pull set is versioned: promoting an account makes every reader recompute theirs."""
    reader, star = _member("reader"), _member("star")
    follow_create(follower=reader, followee=star)
    services.feed_rebuild(user_id=reader.pk)
    assert _ids(reader) == []  # the reader's pull set (empty) is now stored
    with override_settings(CELEBRITY_THRESHOLD=1):
        follow_create(follower=_member("fan"), followee=star)  # 2 followers: pull mode
    assert UserStats.objects.get(user_id=star.pk).fanout_mode == FanoutMode.PULL
    tweet = tweet_create(author=star, text="only merged at read time")
    assert not store.page(user_id=reader.pk, before=None, limit=10).ids  # type: ignore[union-attr]
    assert _ids(reader) == [tweet.id]


def test_deleted_tweets_and_deleted_cards_never_show() -> None:
    reader, friend = _member("reader"), _member("friend")
    follow_create(follower=reader, followee=friend)
    services.feed_rebuild(user_id=reader.pk)
    kept = tweet_create(author=friend, text="kept")
    gone = tweet_create(author=friend, text="gone")
    assert _ids(reader) == [gone.id, kept.id]
    tweet_delete(tweet_id=gone.id, user=friend)
    assert _ids(reader) == [kept.id]
    # A retraction that has not run and a card forget that failed: Postgres still decides when
    # the card is missing.
    store.push(tweet_ids=[gone.id], user_ids=[reader.pk])
    assert _ids(reader) == [kept.id]


def test_a_profile_edit_shows_on_the_next_page() -> None:
    reader, friend = _member("reader"), _member("friend")
    follow_create(follower=reader, followee=friend)
    services.feed_rebuild(user_id=reader.pk)
    tweet_create(author=friend, text="hi")
    assert home_timeline(user_id=reader.pk, before=None, limit=5).items[0].author.name == "Friend"
    profile_update(user=friend, name="New Name", bio="", location="", website="")
    assert home_timeline(user_id=reader.pk, before=None, limit=5).items[0].author.name == "New Name"


def test_a_flush_loses_nothing_and_the_page_stays_the_same() -> None:
    reader = _member("reader")
    friends = [_member(f"f{n}") for n in range(3)]
    for friend in friends:
        follow_create(follower=reader, followee=friend)
    services.feed_rebuild(user_id=reader.pk)
    for n in range(9):
        tweet_create(author=friends[n % 3], text=f"t{n}")
    before = home_timeline(user_id=reader.pk, before=None, limit=5)
    flush_feeds()
    after = home_timeline(user_id=reader.pk, before=None, limit=5)
    assert [c.id for c in after.items] == [c.id for c in before.items] == home_timeline_oracle(reader.pk)[:5]
    assert [(c.text, c.author.username, c.created_at) for c in after.items] == [
        (c.text, c.author.username, c.created_at) for c in before.items
    ]


def test_an_unfollow_leaves_the_page_at_once_even_before_its_cleanup() -> None:
    """The unfollow's tombstone is set on commit; here the cleanup task is made to find nothing
    (as if it ran before a late fan-out wrote), and the page still leaves the author out."""
    reader, friend = _member("reader"), _member("friend")
    follow_create(follower=reader, followee=friend)
    services.feed_rebuild(user_id=reader.pk)
    tweets = [tweet_create(author=friend, text=f"t{n}").id for n in range(3)]
    follow_delete(follower=reader, followee=friend)
    store.push(tweet_ids=tweets, user_ids=[reader.pk])  # late writes after the cleanup
    assert _ids(reader) == []


@pytest.mark.parametrize("followees", [5, 60])
def test_a_warm_home_page_is_no_sql_and_two_round_trips(
    followees: int, client: Any, redis_round_trips: RedisRoundTrips, django_assert_num_queries: Any
) -> None:
    """The whole logged-in GET /: session and user in one round trip (accounts.authcache), the
    timeline in one (timelines.store.home_page), nothing else; the same for 5 or 60 followees and
    for a full page of 20 cards by many authors, the reader's own (with their controls) included."""
    reader = _member("reader")
    friends = [_member(f"friend{n}") for n in range(followees)]
    for friend in friends:
        follow_create(follower=reader, followee=friend)
    services.feed_rebuild(user_id=reader.pk)
    for n in range(24):
        tweet_create(author=friends[n % followees], text=f"hello {n} #tag @reader https://example.com/{n}")
    tweet_create(author=reader, text="my own, with its Pin and Delete forms")
    client.force_login(reader)
    client.get("/")  # cold: fills the caches
    client.get("/")

    redis_round_trips.clear()
    with django_assert_num_queries(0):
        response = client.get("/")
    assert response.status_code == 200
    assert redis_round_trips.count <= (3 if feeds_apart() else 2), redis_round_trips.sent
    html = response.content.decode()
    assert html.count('<article class="tweet"') == 20
    assert "Pin to profile" in html


def test_after_redis_is_flushed_the_page_is_the_same(client: Any) -> None:
    """Redis holds copies only: flushed, the next page is rebuilt from Postgres tweet for tweet,
    byte for byte (the session survives too: it is kept in Postgres)."""
    reader = _member("reader")
    friends = [_member(f"f{n}") for n in range(3)]
    for friend in friends:
        follow_create(follower=reader, followee=friend)
    services.feed_rebuild(user_id=reader.pk)
    for n in range(12):
        tweet_create(author=friends[n % 3], text=f"#n{n} hi @reader https://example.org/{n}")
    client.force_login(reader)
    client.get("/")
    warm = client.get("/")

    flush_feeds()
    cold = client.get("/")
    again = client.get("/")

    def articles(response: Any) -> list[str]:
        return re.findall(r"<article .*?</article>", response.content.decode(), re.S)

    assert len(articles(warm)) == 12
    assert articles(cold) == articles(warm) == articles(again)
