"""Issue 9 (a), the race the load test can only hit by chance: Redis flushed (or restarted empty)
while a feed rebuild is reading Postgres. The steps of feed_rebuild are taken one at a time here,
against the test's own Redis, so the fault lands exactly between them.

A rebuild opens a buffer before its SQL read so that tweets fanned out meanwhile are not lost
(timelines.store). Losing Redis loses that buffer and the rebuild's lock with it: a rebuild that
then wrote its feed anyway would claim a complete timeline while missing those tweets, and keep
missing them for as long as the feed lives.
"""

from __future__ import annotations

import pytest
from django.conf import settings

from devstack.servers import Redis
from follows.models import Follow
from tests.factories import make_user
from tests.faults.conftest import raw_client
from tests.oracles import home_timeline_oracle as oracle
from timelines import store
from timelines.selectors import home_timeline
from tweets.models import Tweet

pytestmark = pytest.mark.django_db


def _snapshot(user_id: int) -> list[int]:
    """What feed_rebuild reads from Postgres."""
    query = Tweet.objects.timeline_of(user_id).order_by("-id").values_list("id", flat=True)
    return list(query[: settings.TIMELINE_LENGTH])


def _home(user_id: int) -> list[int]:
    return [tweet.id for tweet in home_timeline(user_id=user_id, before=None, limit=50).items]


def test_a_rebuild_that_lost_redis_midway_writes_no_feed(on_fault_redis: Redis) -> None:
    reader, friend = make_user("reader"), make_user("friend")
    Follow.objects.create(follower=reader, followee=friend)
    Tweet.objects.create(author=friend, text="before the rebuild")

    token = store.begin_rebuild(user_id=reader.pk)
    assert token
    snapshot = _snapshot(reader.pk)
    late = Tweet.objects.create(author=friend, text="committed after the snapshot")
    store.push(tweet_ids=[late.id], user_ids=[reader.pk])  # its fan-out: into the buffer
    raw_client(on_fault_redis).flushall()  # the buffer (and the lock) are gone

    assert store.finish_rebuild(user_id=reader.pk, tweet_ids=snapshot, floor=0, token=token) is None
    assert not store.exists(user_id=reader.pk)  # no feed claiming a timeline without `late`
    assert _home(reader.pk) == oracle(reader.pk)


def test_a_rebuild_whose_lock_another_took_after_a_flush_leaves_the_feed_to_it(on_fault_redis: Redis) -> None:
    reader, friend = make_user("reader"), make_user("friend")
    Follow.objects.create(follower=reader, followee=friend)
    Tweet.objects.create(author=friend, text="before the rebuilds")

    first = store.begin_rebuild(user_id=reader.pk)
    assert first
    first_snapshot = _snapshot(reader.pk)
    raw_client(on_fault_redis).flushall()
    # A reader finds no feed and another worker starts a rebuild: the lock is free again.
    second = store.begin_rebuild(user_id=reader.pk)
    assert second
    second_snapshot = _snapshot(reader.pk)
    assert store.finish_rebuild(user_id=reader.pk, tweet_ids=first_snapshot, floor=0, token=first) is None
    store.abandon_rebuild(user_id=reader.pk, token=first)  # must not release the second one's lock
    late = Tweet.objects.create(author=friend, text="committed after both snapshots")
    store.push(tweet_ids=[late.id], user_ids=[reader.pk])  # into the second rebuild's buffer
    assert store.finish_rebuild(user_id=reader.pk, tweet_ids=second_snapshot, floor=0, token=second) == 2

    assert _home(reader.pk) == oracle(reader.pk)
    assert home_timeline(user_id=reader.pk, before=None, limit=50).source == "feed"
