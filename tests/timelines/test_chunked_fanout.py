"""A large fan-out in follower-range chunks (timelines.services.fanout_chunk, timelines.followers):
the ranges cover every follower once, the chunks run in any order and twice without harm, a real
worker finishes them all, and live delivery reaches each follower and the author once."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.testing.websocket import WebsocketCommunicator
from django.conf import settings
from django.test import Client
from django.utils import timezone

from accounts.models import User
from follows.services import follow_create
from tests.factories import make_user
from tests.waiting import eventually
from timelines import followers, services, store
from tweethub import metrics
from tweethub.asgi import application
from tweets.services import tweet_create

pytestmark = pytest.mark.django_db(transaction=True)


def _user(name: str) -> User:
    return make_user(name, last_active=timezone.now())


def _audience(author: User, count: int, *, feeds: bool = True) -> list[User]:
    fans = [_user(f"{author.username}f{n}") for n in range(count)]
    for fan in fans:
        follow_create(follower=fan, followee=author)
        if feeds:
            services.feed_rebuild(user_id=fan.pk)
    return fans


def _feed(user: User) -> list[int]:
    page = store.page(user_id=user.pk, before=None, limit=1000)
    return [] if page is None else page.ids


def _walk(author: User, after: int, upto: int) -> list[int]:
    return [f for batch in followers.follower_batches(author_id=author.pk, after=after, upto=upto) for f in batch]


@pytest.mark.parametrize(("count", "size", "expected_ranges"), [(10, 3, 4), (10, 5, 2), (3, 5, 1), (0, 5, 1)])
def test_ranges_cover_every_follower_once_in_order_with_no_empty_tail(
    settings: Any, count: int, size: int, expected_ranges: int
) -> None:
    settings.FANOUT_BATCH_SIZE = 2  # several batches per range
    author = _user("author")
    fans = _audience(author, count, feeds=False)
    ranges = followers.follower_ranges(author_id=author.pk, size=size)

    assert len(ranges) == expected_ranges
    assert ranges[0][0] == 0
    assert ranges[-1][1] == followers.NO_UPPER_BOUND
    assert all(upto == next_after for (_, upto), (next_after, _) in itertools.pairwise(ranges))
    walked = [_walk(author, after, upto) for after, upto in ranges]
    assert [f for part in walked for f in part] == sorted(fan.pk for fan in fans)
    assert all(len(part) == size for part in walked[:-1])


def test_a_follower_who_arrives_after_the_ranges_were_cut_is_in_the_last_one() -> None:
    author = _user("author")
    _audience(author, 4, feeds=False)
    ranges = followers.follower_ranges(author_id=author.pk, size=2)
    late = _user("late")
    follow_create(follower=late, followee=author)
    assert late.pk in _walk(author, *ranges[-1])


@pytest.mark.usefixtures("eager_tasks")
def test_a_large_fanout_is_chunked_and_reaches_every_feed(settings: Any) -> None:
    settings.FANOUT_LARGE_THRESHOLD = 3
    settings.FANOUT_CHUNK_SIZE = 2
    author = _user("author")
    fans = _audience(author, 7)
    services.feed_rebuild(user_id=author.pk)

    tweet = tweet_create(author=author, text="to seven, in four chunks")

    assert all(_feed(fan) == [tweet.pk] for fan in fans)
    assert _feed(author) == [tweet.pk]
    # One latency sample per chunk (commit to its last feed); none for the task that cut them.
    assert len(metrics.fanout_latencies()) == 4


def test_a_chunk_run_twice_writes_once_and_still_reports_its_followers() -> None:
    """A worker died after the chunk's pushes, before its acknowledgement: the rerun changes no
    feed and still announces to the followers the first run wrote (they heard nothing yet)."""
    author = _user("author")
    fans = _audience(author, 5)
    tweet = tweet_create(author=author, text="twice")  # no worker here: nothing fanned out yet
    ranges = followers.follower_ranges(author_id=author.pk, size=3)

    first = [services.fanout_chunk(tweet_id=tweet.pk, after=after, upto=upto) for after, upto in reversed(ranges)]
    again = services.fanout_chunk(tweet_id=tweet.pk, after=ranges[0][0], upto=ranges[0][1])

    assert all(_feed(fan) == [tweet.pk] for fan in fans)
    assert all(part is not None and not part.to_author for part in first)
    assert again is not None
    assert again.followers == again.reached == [fan.pk for fan in fans[:3]]
    assert sorted(f for part in first if part for f in part.followers) == [fan.pk for fan in fans]


def test_chunks_of_a_deleted_tweet_write_nothing() -> None:
    author = _user("author")
    fans = _audience(author, 2)
    tweet = tweet_create(author=author, text="gone")
    tweet.delete()
    assert services.fanout_chunk(tweet_id=tweet.pk, after=0, upto=0) is None
    assert all(_feed(fan) == [] for fan in fans)


def _cookie(user: User) -> bytes:
    client = Client()
    client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}".encode()


@pytest.mark.usefixtures("eager_tasks")
def test_live_delivery_of_a_chunked_fanout_reaches_each_follower_and_the_author_once(settings: Any) -> None:
    settings.FANOUT_LARGE_THRESHOLD = 1
    settings.FANOUT_CHUNK_SIZE = 1
    author = _user("author")
    first, _, last = _audience(author, 3)  # three chunks: the first and the last are online
    cookies = [_cookie(user) for user in (author, first, last)]

    async def scenario() -> list[list[dict[str, Any]]]:
        sockets = [
            WebsocketCommunicator(application, "/ws/", headers=[(b"origin", b"http://localhost"), (b"cookie", c)])
            for c in cookies
        ]
        for socket in sockets:
            assert (await socket.connect())[0]
        await sync_to_async(tweet_create)(author=author, text="live in chunks")
        received: list[list[dict[str, Any]]] = []
        for socket in sockets:
            events = [await socket.receive_json_from(timeout=5)]
            while not await socket.receive_nothing(timeout=0.3):
                events.append(await socket.receive_json_from(timeout=1))
            received.append(events)
            await socket.disconnect()
        return received

    received = async_to_sync(scenario)()
    assert [[event["event"] for event in events] for events in received] == [["tweet.new"]] * 3


def test_a_real_worker_runs_the_chunks_of_a_large_fanout(settings: Any, celery_worker: object) -> None:
    settings.FANOUT_LARGE_THRESHOLD = 2
    settings.FANOUT_CHUNK_SIZE = 2
    author = _user("author")
    fans = _audience(author, 5)

    tweet = tweet_create(author=author, text="via fanout_large")

    assert eventually(lambda: all(_feed(fan) == [tweet.pk] for fan in fans), timeout=30)
    assert eventually(lambda: len(metrics.fanout_latencies()) == 3, timeout=10)


def test_a_stale_small_follower_count_still_reads_every_follower(settings: Any) -> None:
    """A small audience is read in one plain query (fewer round trips than a cursor); a counter
    that says fewer than there are costs memory, never a follower."""
    settings.FANOUT_BATCH_SIZE = 2
    author = _user("author")
    fans = _audience(author, 5, feeds=False)
    expected = sorted(fan.pk for fan in fans)

    one_query = list(followers.follower_batches(author_id=author.pk, expected=1))
    by_cursor = list(followers.follower_batches(author_id=author.pk))

    assert one_query == [expected[:2], expected[2:4], expected[4:]]  # Redis still gets batches
    assert by_cursor == [expected[:2], expected[2:4], expected[4:]]
