"""follow_create / follow_delete under concurrency (real connections, real row locks)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest
from django.db import connection, connections, transaction
from django.test.utils import override_settings

from accounts.models import User, UserStats
from accounts.selectors import stats_for
from follows.models import Follow
from follows.services import follow_create, follow_delete
from tests.factories import make_user
from tweethub.ratelimit import RateLimited


def _waiting_on_locks() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        row = cursor.fetchone()
    assert row is not None
    return int(row[0])


def _wait_for_waiters(count: int) -> None:
    deadline = time.monotonic() + 10
    while _waiting_on_locks() < count:
        assert time.monotonic() < deadline, "the follow never queued behind the lock"
        time.sleep(0.02)


def _in_thread(work: Callable[[], object], errors: list[BaseException]) -> threading.Thread:
    def run() -> None:
        try:
            work()
        except BaseException as error:  # reported by the test, not swallowed
            errors.append(error)
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("change", ["follow", "unfollow"])
def test_a_follow_back_at_the_same_moment_does_not_deadlock(change: str) -> None:
    """A follows B while B follows A. With both counts on the users' UserStats rows, each
    transaction locked both rows and the two could wait for each other until Postgres killed one
    (a 500 for somebody). Now a follow locks only its follower's row and one of the followee's
    shard rows (accounts.models.FollowerShard), so there is no cycle to make: a third transaction
    holds A's row, A's follow queues behind it, and B's follow of A completes meanwhile."""
    a, b = make_user("a"), make_user("b")
    UserStats.objects.create(user=a)
    UserStats.objects.create(user=b)
    if change == "unfollow":
        follow_create(follower=a, followee=b)
        follow_create(follower=b, followee=a)
    act = follow_create if change == "follow" else follow_delete

    def run(follower: User, followee: User) -> Callable[[], object]:
        return lambda: act(follower=follower, followee=followee)

    errors: list[BaseException] = []
    held, release = threading.Event(), threading.Event()

    def hold_a() -> None:
        with transaction.atomic():
            UserStats.objects.select_for_update().get(user=a)
            held.set()
            release.wait(10)

    holder = _in_thread(hold_a, errors)
    assert held.wait(10)
    first = _in_thread(run(a, b), errors)
    _wait_for_waiters(1)
    second = _in_thread(run(b, a), errors)
    second.join(10)
    assert not second.is_alive(), "B's follow of A waited for A's counters"
    assert _waiting_on_locks() == 1
    release.set()
    for thread in (holder, first):
        thread.join(20)

    assert errors == []
    expected = 1 if change == "follow" else 0
    assert Follow.objects.count() == 2 * expected
    for user in (a, b):
        stats = stats_for(user.pk)
        assert (stats.followers, stats.following) == (expected, expected)


@pytest.mark.django_db
@override_settings(RATE_LIMIT_FOLLOWS_PER_USER="4/1h")
def test_follows_and_unfollows_together_are_rate_limited_per_user() -> None:
    """Issue 17, item 13: follow and unfollow had no limit, so a script could toggle them without
    end, each time writing counters and queueing a feed backfill or cleanup."""
    fan, star, other = make_user("fan"), make_user("star"), make_user("other")
    assert follow_create(follower=fan, followee=star)
    assert follow_delete(follower=fan, followee=star)
    assert follow_create(follower=fan, followee=star)
    assert not follow_create(follower=fan, followee=star)  # a repeat counts too: it still costs a write
    with pytest.raises(RateLimited, match="followed and unfollowed a lot of accounts") as refused:
        follow_delete(follower=fan, followee=star)
    assert 0 < refused.value.retry_after <= 3600
    with pytest.raises(RateLimited):
        follow_create(follower=fan, followee=other)
    assert Follow.objects.filter(follower=fan).count() == 1  # nothing written once refused
    assert stats_for(fan.pk).following == 1
    # Per user: someone else is not affected.
    assert follow_create(follower=other, followee=star)
