"""The Celery queues (tweethub.queues): where each task lands on the real broker, the Procfile's
workers consuming every queue, and a flood of feed rebuilds that cannot hold up a new tweet."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from accounts.models import User
from follows.services import follow_create
from tests.factories import make_user
from tests.waiting import eventually
from timelines import pacing, services, store
from timelines.tasks import feed_rebuild_task
from tweethub import outbox, queues, ratelimit
from tweethub.celery import app
from tweethub.models import OutboxTask
from tweethub.redis import broker
from tweets.services import tweet_create

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]


def _user(name: str) -> User:
    return make_user(name, last_active=timezone.now())


def _queued(queue: str) -> list[str]:
    """Names of the tasks waiting in one queue of the real broker (no worker runs here)."""
    return [json.loads(raw)["headers"]["task"] for raw in broker().lrange(queue, 0, -1)]


def _author_with(followers: int, name: str) -> User:
    author = _user(name)
    for n in range(followers):
        follow_create(follower=_user(f"{name}f{n}"), followee=author)
    return author


def test_a_fanout_goes_to_the_small_or_the_large_queue_by_the_authors_follower_count(settings: Any) -> None:
    settings.FANOUT_LARGE_THRESHOLD = 3
    small, large = _author_with(3, "small"), _author_with(4, "large")

    tweet_create(author=small, text="to three")
    tweet_create(author=large, text="to four")

    assert _queued(queues.FANOUT).count("timelines.tasks.fanout_tweet_task") == 1
    assert _queued(queues.FANOUT_LARGE) == ["timelines.tasks.fanout_tweet_task"]
    assert _queued(queues.REBUILD).count("timelines.tasks.follow_backfill_task") == 7  # the follows'
    assert broker().llen("celery") == 0  # Celery's own default queue is not used


def test_the_outbox_relay_routes_a_fanout_as_the_after_commit_send_does(settings: Any) -> None:
    """The relay publishes inside its own transaction (the router reads the count there too)."""
    settings.FANOUT_LARGE_THRESHOLD = 1
    author = _author_with(2, "relayed")
    tweet = tweet_create(author=author, text="sent twice")
    OutboxTask.objects.create(task="timelines.tasks.fanout_tweet_task", args=[tweet.pk])
    OutboxTask.objects.update(created_at=timezone.now() - timedelta(minutes=5))

    assert outbox.relay() == 1

    assert _queued(queues.FANOUT_LARGE) == ["timelines.tasks.fanout_tweet_task"] * 2
    assert not OutboxTask.objects.exists()


@pytest.mark.parametrize(
    ("task", "queue"),
    [
        ("timelines.tasks.retract_tweet_task", queues.FANOUT),
        ("timelines.tasks.fanout_chunk_task", queues.FANOUT_LARGE),
        ("timelines.tasks.follow_backfill_task", queues.REBUILD),
        ("timelines.tasks.unfollow_cleanup_task", queues.REBUILD),
        ("timelines.tasks.feed_rebuild_task", queues.REBUILD),
        ("timelines.tasks.author_list_rebuild_task", queues.REBUILD),
        ("timelines.tasks.celebrity_demote_task", queues.REBUILD),
        ("mailcatcher.tasks.deliver_mail_task", queues.MAIL),
        ("accounts.tasks.signup_mail_task", queues.MAIL),
        ("tweethub.tasks.outbox_relay_task", queues.DEFAULT),
        ("adminpanel.tasks.heartbeat_task", queues.DEFAULT),
        ("timelines.tasks.drop_inactive_feeds_task", queues.DEFAULT),
        ("adminpanel.tasks.purge_demo_data_task", queues.DEFAULT),
    ],
)
def test_each_task_is_routed_to_its_queue(task: str, queue: str) -> None:
    outbox.task_named(task)  # a real task: a typo in the map would route nothing
    route = app.amqp.router.route({}, task, (1, 2), {})
    assert route["queue"].name == queue


def test_every_routed_task_exists_and_every_queue_is_declared() -> None:
    for task, queue in queues.ROUTES.items():
        outbox.task_named(task)
        assert queue in queues.NAMES
    assert {queue.name for queue in app.conf.task_queues} == set(queues.NAMES)


def test_the_procfile_runs_a_worker_for_every_queue_and_each_queue_once() -> None:
    consumed: list[str] = []
    for line in (ROOT / "Procfile").read_text().splitlines():
        if " worker " in line:
            found = re.search(r" -Q (\S+)", line)
            assert found, f"a worker without -Q consumes every queue: {line}"
            consumed += found.group(1).split(",")
    assert sorted(consumed) == sorted(queues.NAMES)


def test_rebuilds_are_counted_against_one_limit_for_all_workers(settings: Any) -> None:
    """Counted, not timed: with 3 rebuilds a minute the first three find a slot at once, and then
    the window is full for every worker (they share it in Redis); no limit never waits."""
    settings.REBUILD_RATE_LIMIT = "3/1m"
    assert [pacing.rebuild_slot_wait(max_wait_seconds=0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert ratelimit.over(scope="rebuild", key="all", rate="3/1m")
    settings.REBUILD_RATE_LIMIT = ""
    assert pacing.rebuild_slot_wait(max_wait_seconds=60) == 0.0


def test_a_small_fanout_completes_while_many_rebuilds_are_still_queued(celery_worker: object) -> None:
    """What follows a Redis flush: every reader's next page queues a rebuild. One worker consuming
    every queue (as a test's does) takes from each queue in turn, so the new tweet's fan-out is
    not behind the whole flood, as it was in one queue. Counted, not timed: how many rebuilds had
    run when the follower's feed got the tweet."""
    author, fan = _user("author"), _user("fan")
    follow_create(follower=fan, followee=author)
    services.feed_rebuild(user_id=fan.pk)
    readers = User.objects.bulk_create(
        [User(username=f"reader{n}", email=f"reader{n}@example.com", password="!") for n in range(300)]
    )
    for reader in readers:
        feed_rebuild_task.delay(reader.pk)

    tweet = tweet_create(author=author, text="not behind the flood")

    def fan_has_it() -> bool:
        page = store.page(user_id=fan.pk, before=None, limit=10)
        return page is not None and tweet.pk in page.ids

    assert eventually(fan_has_it, timeout=60, interval=0.01)
    rebuilt = sum(store.exists(user_id=reader.pk) for reader in readers)
    assert rebuilt < len(readers) // 2, f"{rebuilt} of {len(readers)} rebuilds ran before the fan-out"
    assert eventually(lambda: all(store.exists(user_id=reader.pk) for reader in readers), timeout=60)
