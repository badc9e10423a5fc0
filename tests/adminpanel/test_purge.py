"""adminpanel.services.purge_demo_data: removes all user data and nothing else, once, alone."""

from __future__ import annotations

import psycopg
import pytest
from django.test.utils import override_settings
from django.utils import timezone

from accounts.models import User, UserStats
from adminpanel.models import PurgeRun, WorkerHeartbeat
from adminpanel.selectors import last_purge
from adminpanel.services import PurgeAlreadyRunning, PurgeNotAllowed, purge_demo_data
from adminpanel.tasks import purge_demo_data_task
from follows.models import Follow
from tests.adminpanel.conftest import SENTINELS, DemoSite, db_snapshot, family, media_files, redis_snapshot, run_counts
from tests.factories import make_user
from tests.waiting import eventually
from tweethub import presence
from tweethub.redis import feeds
from tweets.models import Tweet
from tweets.services import tweet_create


def test_purge_removes_all_user_data_and_keeps_operators_and_other_tenants(demo_site: DemoSite) -> None:
    redis_before = redis_snapshot()
    purged_keys = {key for key in redis_before if family(key)}
    lines: list[str] = []

    run = purge_demo_data(progress=lines.append)

    assert run.status == PurgeRun.Status.DONE
    assert not run.dry_run
    assert run.finished_at is not None
    assert run.counts == run_counts(
        users=2,
        tweets=3,
        follows=4,
        blocks=1,
        mutes=1,
        conversations=2,
        messages=3,
        mails=1,
        avatars=2,
        redis_keys=len(purged_keys),
        likes=1,
        bookmarks=1,
        notifications=7,
        notification_events=8,
    )
    # Postgres: only the two operators remain, with nothing of their own content left.
    assert set(User.objects.values_list("username", flat=True)) == {"staff", "root"}
    assert db_snapshot() | {"stats": 0} == {
        "users": 2, "stats": 0, "tweets": 0, "follows": 0, "blocks": 0, "mutes": 0, "conversations": 0, "messages": 0, "mails": 0,
        "mail_recipients": 0, "likes": 0, "bookmarks": 0, "notifications": 0, "notification_events": 0,
    }  # fmt: skip
    staff = User.objects.get(pk=demo_site.staff.pk)
    assert (staff.is_staff, staff.bio, staff.check_password("correct-horse-battery-staple")) == (
        True,
        "runs the demo",
        True,
    )
    assert staff.avatar.name == ""  # the file is gone, so the profile must not point at it
    # Counters exact: the staff account follows nobody, has no followers and no tweets any more.
    stats = UserStats.objects.get(user_id=staff.pk)
    assert (stats.followers, stats.following, stats.tweets, stats.fanout_mode) == (0, 0, 0, "push")
    assert WorkerHeartbeat.objects.filter(worker="worker@demo").exists()
    # Files: every upload gone, nothing else touched.
    assert media_files() == ["branding/logo.txt"]
    # Redis: exactly the purged families went; the broker, channel layer, cache and presence stayed.
    redis_after = redis_snapshot()
    assert redis_after == {key: value for key, value in redis_before.items() if key not in purged_keys}
    assert all(feeds().get(key) == value for key, value in SENTINELS.items())
    assert presence.online_user_ids() == [demo_site.alice.pk]
    # Progress was reported per kind, as counts and as batches.
    assert "users (non-staff): 2 to remove" in lines
    assert "tweets: 3/3" in lines
    assert "users: 2/2" in lines


def test_second_run_is_a_no_op_that_records_zero_counts(demo_site: DemoSite) -> None:
    first = purge_demo_data()
    after_first = (db_snapshot(), redis_snapshot(), media_files())

    second = purge_demo_data()

    assert second.status == PurgeRun.Status.DONE
    assert second.counts == run_counts()
    assert first.counts != second.counts
    assert (db_snapshot(), redis_snapshot(), media_files()) == after_first
    assert last_purge() == second


def test_dry_run_changes_nothing_and_reports_what_would_go(demo_site: DemoSite) -> None:
    before = (db_snapshot(), redis_snapshot(), media_files(), list(User.objects.values_list("avatar", flat=True)))
    stats_before = list(UserStats.objects.order_by("pk").values_list("pk", "followers", "following", "tweets"))

    run = purge_demo_data(dry_run=True)

    assert run.dry_run
    assert run.status == PurgeRun.Status.DONE
    assert run.counts["users"] == 2
    assert run.counts["tweets"] == 3
    assert run.counts["avatars"] == 2
    assert run.counts["redis_keys"] == len([key for key in before[1] if family(key)])
    after = (db_snapshot(), redis_snapshot(), media_files(), list(User.objects.values_list("avatar", flat=True)))
    assert after == before
    assert list(UserStats.objects.order_by("pk").values_list("pk", "followers", "following", "tweets")) == stats_before
    assert last_purge() is None  # the panel's "last purge" is a real one


def test_purge_refuses_while_another_holds_the_lock(
    demo_site: DemoSite, lock_held_elsewhere: psycopg.Connection[tuple[object, ...]]
) -> None:
    before = (db_snapshot(), redis_snapshot(), media_files())

    with pytest.raises(PurgeAlreadyRunning):
        purge_demo_data()
    with pytest.raises(PurgeAlreadyRunning):
        purge_demo_data(dry_run=True)  # counts taken mid-purge would mean nothing

    assert (db_snapshot(), redis_snapshot(), media_files()) == before
    assert not PurgeRun.objects.exists()
    lock_held_elsewhere.close()  # the other session ends: its lock goes with it
    assert purge_demo_data().counts["users"] == 2


@pytest.mark.django_db(transaction=True)
def test_a_failed_purge_is_recorded_and_releases_the_lock() -> None:
    make_user("visitor")
    # A real failure: nothing listens on port 1, so the first Redis call is refused.
    with override_settings(FEEDS_REDIS_URL="redis://127.0.0.1:1/0"), pytest.raises(Exception, match="Connection"):
        purge_demo_data()

    failed = PurgeRun.objects.get()
    assert failed.status == PurgeRun.Status.FAILED
    assert "ConnectionError" in failed.error
    assert failed.finished_at is not None
    assert User.objects.filter(username="visitor").exists()  # it failed while counting
    assert last_purge() == failed
    retry = purge_demo_data()  # the lock was released with the failure
    assert retry.status == PurgeRun.Status.DONE
    assert retry.counts["users"] == 1


@pytest.mark.django_db(transaction=True)
def test_a_run_left_running_by_a_dead_process_is_marked_failed() -> None:
    dead = PurgeRun.objects.create(started_at=timezone.now(), status=PurgeRun.Status.RUNNING)

    purge_demo_data()

    dead.refresh_from_db()
    assert dead.status == PurgeRun.Status.FAILED
    assert "interrupted" in dead.error


@pytest.mark.django_db(transaction=True)
@override_settings(DEMO_MODE=False)
def test_real_purge_needs_demo_mode_or_force_but_a_dry_run_does_not() -> None:
    make_user("customer")

    with pytest.raises(PurgeNotAllowed):
        purge_demo_data()
    assert User.objects.filter(username="customer").exists()
    assert not PurgeRun.objects.exists()

    assert purge_demo_data(dry_run=True).counts["users"] == 1
    assert User.objects.filter(username="customer").exists()
    assert purge_demo_data(force=True).counts["users"] == 1
    assert not User.objects.filter(username="customer").exists()


@pytest.mark.django_db(transaction=True)
def test_batches_continue_past_the_first_count(monkeypatch: pytest.MonkeyPatch) -> None:
    """Several batches per kind, and staff's follows of purged accounts leave exact counters."""
    monkeypatch.setattr("adminpanel.services.PURGE_BATCH_SIZE", 2)
    staff = make_user("staff", is_staff=True)
    visitors = [make_user(f"v{n}") for n in range(5)]
    for visitor in visitors:
        Follow.objects.create(follower=staff, followee=visitor)
        Follow.objects.create(follower=visitor, followee=staff)
    UserStats.objects.create(user=staff, followers=5, following=5)
    lines: list[str] = []

    run = purge_demo_data(progress=lines.append)

    assert run.counts["users"] == 5
    assert run.counts["follows"] == 10
    assert [line for line in lines if line.startswith("users: ")] == ["users: 2/5", "users: 4/5", "users: 5/5"]
    stats = UserStats.objects.get(user=staff)
    assert (stats.followers, stats.following) == (0, 0)
    assert list(User.objects.all()) == [staff]


@pytest.mark.django_db(transaction=True)
def test_nightly_task_purges_on_a_real_worker(celery_worker: object) -> None:
    visitor = make_user("visitor")
    tweet_create(author=visitor, text="gone by morning")

    purge_demo_data_task.delay()

    assert eventually(lambda: PurgeRun.objects.filter(status=PurgeRun.Status.DONE).exists())
    run = PurgeRun.objects.get()
    assert (run.counts["users"], run.counts["tweets"], run.dry_run) == (1, 1, False)
    assert not User.objects.exists()
    assert not Tweet.objects.exists()
