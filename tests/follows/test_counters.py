"""Follower counts under concurrency: sharded counter rows (accounts.models.FollowerShard), folded
into UserStats by beat. Real connections, real row locks, real threads."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Sequence

import pytest
from django.db import OperationalError, connection, connections, transaction
from django.test.utils import override_settings

from accounts.models import FanoutMode, FollowerShard, User, UserStats
from accounts.selectors import stats_for, stats_of
from accounts.services import follower_shard, follower_shards_fold
from follows.models import Follow
from follows.services import follow_create, follow_delete
from tests.factories import make_user

UNLIMITED = override_settings(RATE_LIMIT_FOLLOWS_PER_USER="100000/1h")


def _run_in_threads(jobs: Sequence[Callable[[], object]]) -> list[BaseException]:
    errors: list[BaseException] = []
    start = threading.Barrier(len(jobs))

    def run(job: Callable[[], object]) -> None:
        try:
            start.wait(10)
            job()
        except BaseException as error:  # reported by the test, not swallowed
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not any(thread.is_alive() for thread in threads), "a worker thread hung"
    return errors


def _exact(user: User) -> tuple[int, int]:
    return (
        Follow.objects.filter(followee=user).count(),
        Follow.objects.filter(follower=user).count(),
    )


@pytest.mark.django_db(transaction=True)
@UNLIMITED
def test_a_crowd_following_and_unfollowing_one_account_at_once_is_counted_exactly() -> None:
    """8 threads follow and unfollow one account (and each other) in random order while folds run
    beside them: every count, read at any time after, equals the rows, and nothing is lost or
    doubled between the shards and the folded count."""
    star = make_user("star")
    fans = [make_user(f"fan{i}") for i in range(40)]
    rng = random.Random(20)

    def crowd(members: list[User], seed: int) -> Callable[[], None]:
        def work() -> None:
            local = random.Random(seed)
            for _ in range(6):
                for fan in members:
                    follow_create(follower=fan, followee=star)
                    if local.random() < 0.4:
                        follow_delete(follower=fan, followee=star)
                    other = local.choice(fans)
                    if other.pk != fan.pk:
                        follow_create(follower=fan, followee=other)

        return work

    def folds() -> None:
        for _ in range(30):
            follower_shards_fold(batch=3)

    rng.shuffle(fans)
    groups = [fans[i::8] for i in range(8)]
    errors = _run_in_threads([crowd(group, seed) for seed, group in enumerate(groups)] + [folds])
    assert errors == []

    counted = stats_of([star.pk, *(fan.pk for fan in fans)])
    for user in [star, *fans]:
        assert (counted[user.pk].followers, counted[user.pk].following) == _exact(user), user
    assert stats_for(star.pk).followers > 0

    follower_shards_fold()
    assert not FollowerShard.objects.exists()
    for user in [star, *fans]:
        stats = UserStats.objects.get(user=user)
        assert (stats.followers, stats.following) == _exact(user), user


@pytest.mark.django_db(transaction=True)
@UNLIMITED
def test_follows_of_one_account_do_not_wait_for_each_other() -> None:
    """A follow of the account stays open (its counter change uncommitted) while another follower,
    on another shard, follows the same account: that one commits without waiting. With the count on
    one row, the second follow queued on that row's lock (here: a lock timeout)."""
    star, first, second = make_user("star"), make_user("first"), make_user("second")
    assert follower_shard(first.pk) != follower_shard(second.pk)
    follow_create(follower=make_user("early"), followee=star)  # the account has counts already
    follower_shards_fold()
    held, release = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def hold_a_follow_open() -> None:
        try:
            with transaction.atomic():
                follow_create(follower=first, followee=star)
                held.set()
                release.wait(20)
        except BaseException as error:  # reported by the test
            errors.append(error)
        finally:
            connections.close_all()

    holder = threading.Thread(target=hold_a_follow_open)
    holder.start()
    try:
        assert held.wait(20)
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '2s'")
        try:
            assert follow_create(follower=second, followee=star)
        except OperationalError as error:  # the lock timeout: the follows serialise
            pytest.fail(f"the second follow waited for the first: {error}")
        finally:
            with connection.cursor() as cursor:
                cursor.execute("RESET lock_timeout")
        assert stats_for(star.pk).followers == 2  # the open one is not counted yet
    finally:
        release.set()
        holder.join(20)
    assert errors == []
    assert stats_for(star.pk).followers == 3


@pytest.mark.django_db
def test_the_fold_moves_exactly_what_it_removes() -> None:
    star = make_user("star")
    fans = [make_user(f"fan{i}") for i in range(5)]
    with override_settings(FOLLOWER_COUNT_SHARDS=2):
        for fan in fans:
            follow_create(follower=fan, followee=star)
        follow_delete(follower=fans[0], followee=star)
    assert FollowerShard.objects.filter(user=star).count() == 2
    assert not UserStats.objects.filter(user=star, followers__gt=0).exists()  # all still in the shards
    assert stats_for(star.pk).followers == 4

    assert follower_shards_fold() >= 1
    assert not FollowerShard.objects.filter(user=star).exists()
    assert UserStats.objects.get(user=star).followers == 4
    assert stats_for(star.pk).followers == 4
    assert follower_shards_fold() == 0  # idempotent

    follow_delete(follower=fans[1], followee=star)  # a negative shard after a fold
    assert FollowerShard.objects.get(user=star).followers == -1
    assert stats_for(star.pk).followers == 3
    follower_shards_fold()
    assert UserStats.objects.get(user=star).followers == 3


@pytest.mark.django_db
@override_settings(CELEBRITY_THRESHOLD=3, CELEBRITY_HYSTERESIS=0.5)
def test_the_mode_switch_reads_the_sharded_total() -> None:
    """Promotion and demotion still follow the exact count when follows come one at a time, with
    the count spread over shards and partly folded."""
    star = make_user("star")
    fans = [make_user(f"fan{i}") for i in range(5)]
    for fan in fans[:3]:
        follow_create(follower=fan, followee=star)
    follower_shards_fold()
    assert stats_for(star.pk).fanout_mode == FanoutMode.PUSH
    follow_create(follower=fans[3], followee=star)  # 4 > 3: half folded, half in a shard
    assert stats_for(star.pk).fanout_mode == FanoutMode.PULL
    for fan in fans[:2]:
        follow_delete(follower=fan, followee=star)  # 2 > 1.5: stays
    assert stats_for(star.pk).fanout_mode == FanoutMode.PULL
    follow_delete(follower=fans[2], followee=star)  # 1 <= 1.5
    assert stats_for(star.pk).fanout_mode == FanoutMode.DEMOTING
