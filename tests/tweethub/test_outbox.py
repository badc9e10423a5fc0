"""The transactional outbox: work a commit needs is never lost to a broker outage (issue 9, c).

The broker in the outage test is a real Redis server of its own, stopped while a tweet is posted
and started again afterwards; a real Celery worker then runs the fan-out it carried.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.db import transaction
from django.test import Client

from devstack.servers import Redis
from follows.services import follow_create
from tests.factories import make_user
from tests.waiting import eventually
from timelines import services as timeline_services
from timelines import store
from tweethub import outbox
from tweethub.celery import app as celery_app
from tweethub.models import OutboxTask
from tweets.models import Tweet
from tweets.services import tweet_create


def _feed(user_id: int) -> list[int]:
    page = store.page(user_id=user_id, before=None, limit=100)
    return list(page.ids) if page else []


@pytest.fixture
def own_broker(doomed_redis: Redis) -> Iterator[Redis]:
    """Point Celery at a broker of the test's own. The app caches its connection pool and producer
    pool from the URL at first use, so both are dropped before and after."""
    saved = celery_app.conf.broker_url, celery_app.conf.task_always_eager

    def repoint(url: str) -> None:
        celery_app.conf["broker_url"] = url
        # Celery's own caches (no public reset): without this it keeps the old broker's pools.
        celery_app._pool = None  # type: ignore[attr-defined]
        celery_app.amqp._producer_pool = None  # type: ignore[attr-defined]

    repoint(f"redis+socket://{doomed_redis.socket_path}?virtual_host=0")
    celery_app.conf.task_always_eager = False
    yield doomed_redis
    celery_app.conf.task_always_eager = saved[1]
    repoint(saved[0])


@pytest.mark.django_db(transaction=True)
def test_a_tweet_posted_while_the_broker_is_down_reaches_followers_once_it_is_back(
    own_broker: Redis, settings: Any
) -> None:
    from celery.contrib.testing.worker import start_worker

    settings.OUTBOX_GRACE_SECONDS = 0
    author, fan = make_user("author"), make_user("fan")
    follow_create(follower=fan, followee=author)
    OutboxTask.objects.all().delete()  # the follow's backfill: not what this test is about
    for user in (author, fan):
        timeline_services.feed_rebuild(user_id=user.pk)

    own_broker.stop()
    client = Client()
    client.force_login(author)
    response = client.post("/tweets/", {"text": "posted during the outage"})
    assert response.status_code == 302, response.content[:500]
    tweet = Tweet.objects.get(text="posted during the outage")
    # Saved, and shown to its author at once (their own feed is written after commit) ...
    assert "posted during the outage" in client.get("/").content.decode()
    assert tweet.id in _feed(author.pk)
    # ... while the fan-out waits in the outbox, not in the dead broker.
    assert list(OutboxTask.objects.values_list("task", "args")) == [("timelines.tasks.fanout_tweet_task", [tweet.id])]
    assert tweet.id not in _feed(fan.pk)

    # The relay runs while the broker is still down: nothing is lost, the attempt is counted.
    assert outbox.relay() == 0
    assert OutboxTask.objects.get().attempts == 1

    own_broker.start()
    with start_worker(celery_app, pool="solo", perform_ping_check=False, loglevel="WARNING", shutdown_timeout=30):
        assert outbox.relay() == 1
        assert eventually(lambda: tweet.id in _feed(fan.pk))
    assert not OutboxTask.objects.exists()
    assert _feed(fan.pk).count(tweet.id) == 1


@pytest.mark.django_db(transaction=True)
def test_sent_tasks_leave_the_outbox_and_run(celery_worker: object) -> None:
    celery_app.conf.task_always_eager = False
    author, fan = make_user("author"), make_user("fan")
    follow_create(follower=fan, followee=author)
    timeline_services.feed_rebuild(user_id=fan.pk)
    tweet = tweet_create(author=author, text="normal day")
    assert eventually(lambda: tweet.id in _feed(fan.pk))
    assert not OutboxTask.objects.exists()


@pytest.mark.django_db
def test_the_task_is_recorded_with_the_change_and_rolls_back_with_it() -> None:
    author = make_user("author")
    recorded = []

    def post_then_fail() -> None:
        with transaction.atomic():
            tweet_create(author=author, text="never happened")
            recorded.append(OutboxTask.objects.filter(task="timelines.tasks.fanout_tweet_task").count())
            raise RuntimeError

    with pytest.raises(RuntimeError):
        post_then_fail()
    assert recorded == [1]
    assert not Tweet.objects.exists()
    assert not OutboxTask.objects.exists()


@pytest.mark.django_db
def test_the_relay_leaves_young_rows_to_their_own_send(settings: Any, eager_tasks: None) -> None:
    settings.OUTBOX_GRACE_SECONDS = 3600
    OutboxTask.objects.create(task="adminpanel.tasks.heartbeat_task", args=[])
    assert outbox.relay() == 0
    assert OutboxTask.objects.count() == 1
    settings.OUTBOX_GRACE_SECONDS = 0
    assert outbox.relay() == 1
    assert not OutboxTask.objects.exists()


def test_every_task_sent_through_the_outbox_and_the_relay_is_registered() -> None:
    """A renamed task would leave rows the relay can never send: the names are checked here."""
    from django.conf import settings

    names = {
        "timelines.tasks.fanout_tweet_task",
        "timelines.tasks.retract_tweet_task",
        "timelines.tasks.follow_backfill_task",
        "timelines.tasks.unfollow_cleanup_task",
        "timelines.tasks.celebrity_demote_task",
        "mailcatcher.tasks.deliver_mail_task",
        "notifications.tasks.notify_task",
        "notifications.tasks.notify_mentions_task",
        settings.CELERY_BEAT_SCHEDULE["outbox-relay"]["task"],
    }
    for name in names:
        assert outbox.task_named(name).name == name
