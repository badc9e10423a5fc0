"""The home page view: landing for visitors, the timeline for members, cursors, query counts."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import User, UserStats
from accounts.selectors import stats_for
from accounts.services import user_delete
from follows.services import follow_create
from tests.factories import make_user
from timelines import services, store
from tweethub.redis import client_for
from tweets.models import Tweet
from tweets.services import tweet_create

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("eager_tasks")]


def _member(name: str) -> User:
    return make_user(name, last_active=timezone.now())


def test_visitors_get_the_landing_page(client: Client) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert b"Say it short. Read it fast." in page.content


def test_members_get_their_timeline_with_older_pages(client: Client, settings: Any) -> None:
    settings.TIMELINE_PAGE_SIZE = 5
    reader, friend = _member("reader"), _member("friend")
    follow_create(follower=reader, followee=friend)
    ids = [tweet_create(author=friend, text=f"tweet number {n}").id for n in range(8)]
    client.force_login(reader)

    first = client.get("/")
    assert [t.id for t in first.context["page"].items] == ids[::-1][:5]
    assert f"?before={ids[3]}" in first.content.decode()
    second = client.get(f"/?before={ids[3]}")
    assert [t.id for t in second.context["page"].items] == ids[::-1][5:]
    assert "Older tweets" not in second.content.decode()


@pytest.mark.parametrize(
    "cursor", ["abc", "-5", "0", "1.5", "99999999999999999999", "\uff11\uff12\uff13", "%00"]
)  # fullwidth digits pass str.isdigit()
def test_malformed_cursors_are_a_clear_400(client: Client, cursor: str) -> None:
    client.force_login(_member("reader"))
    response = client.get("/", {"before": cursor})
    assert response.status_code == 400
    assert b"could not understand" in response.content


def test_a_page_costs_the_same_queries_for_3_or_20_tweets(
    client: Client, settings: Any, django_assert_max_num_queries: Any
) -> None:
    """Hydration is one query for the page, whatever its size; same for the feed and SQL paths."""
    settings.TIMELINE_PAGE_SIZE = 20
    reader = _member("reader")
    friends = [_member(f"friend{n}") for n in range(5)]
    for friend in friends:
        follow_create(follower=reader, followee=friend)
    services.feed_rebuild(user_id=reader.pk)
    client.force_login(reader)
    client.get("/")  # settle session and last_active writes

    for count in (3, 20):
        Tweet.objects.all().delete()
        for n in range(count):
            tweet_create(author=friends[n % 5], text=f"#t{n} hello @reader")
        for drop_feed in (False, True):
            if drop_feed:
                store.drop(user_ids=[reader.pk])
            with django_assert_max_num_queries(8):
                response = client.get("/")
            assert len(response.context["page"].items) == count


def test_deleting_an_account_removes_its_feed_and_fixes_counts() -> None:
    reader, friend, star, fan = _member("reader"), _member("friend"), _member("star"), _member("fan")
    follow_create(follower=reader, followee=friend)
    follow_create(follower=friend, followee=star)
    follow_create(follower=fan, followee=star)  # a bystander: their counts stay
    follow_create(follower=reader, followee=star)
    tweet = tweet_create(author=friend, text="soon gone")
    services.feed_rebuild(user_id=reader.pk)
    services.feed_rebuild(user_id=friend.pk)
    friend_id = friend.pk  # Django sets pk to None on delete: asking about None would prove nothing
    assert store.exists(user_id=friend_id)

    user_delete(user=friend)

    assert not store.exists(user_id=friend_id)
    assert not Tweet.objects.filter(pk=tweet.pk).exists()
    assert UserStats.objects.get(user_id=reader.pk).following == 1
    assert stats_for(star.pk).followers == 2  # exact: the folded count plus its shards
    assert UserStats.objects.get(user_id=fan.pk).following == 1
    from timelines.selectors import home_timeline

    assert home_timeline(user_id=reader.pk, before=None, limit=10).items == []


def test_a_page_of_many_authors_costs_the_same_queries_cold_or_cached(
    client: Client, settings: Any, django_assert_max_num_queries: Any
) -> None:
    """Tweets render from the hydrated rows alone (timelines.selectors.HYDRATED_FIELDS): no query
    per tweet or per author, whether their HTML comes from the cache or is rendered now, with
    avatars, links and the reader's own tweets (whose controls are rendered per request)."""
    settings.TIMELINE_PAGE_SIZE = 20
    reader = _member("reader")
    for n in range(18):
        friend = make_user(f"friend{n}", last_active=timezone.now(), avatar=f"avatars/{n}/a.webp" if n % 2 else "")
        follow_create(follower=reader, followee=friend)
        tweet_create(author=friend, text=f"#t{n} hello @reader https://example.com/{n}")
    own = [tweet_create(author=reader, text=f"mine {n}") for n in range(2)]
    services.feed_rebuild(user_id=reader.pk)
    client.force_login(reader)
    client.get("/")  # settle session and last_active writes
    cache = client_for(settings.FEEDS_REDIS_URL)

    for cold in (True, False):
        if cold:
            cache.delete(*cache.keys("tc:*"), *cache.keys("uc:*"))
        with django_assert_max_num_queries(8):
            response = client.get("/")
        html = response.content.decode()
        assert html.count("<article") == 20
        assert html.count('class="avatar avatar-small"') == 9
        assert all(f"/tweets/{tweet.id}/delete/" in html for tweet in own)
