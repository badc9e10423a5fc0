"""last_active: recorded in Redis by the session read, written to Postgres by beat in one statement."""

from __future__ import annotations

import re
import threading
from datetime import timedelta

import psycopg
import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext, override_settings
from django.utils import timezone

from accounts import authcache
from accounts.models import User
from accounts.services import last_active_flush, user_touch_last_active
from tests.factories import make_user
from tests.waiting import eventually

DEAD_REDIS = "unix:///nonexistent/redis.sock"


def _updates(queries: CaptureQueriesContext) -> list[str]:
    return [q["sql"] for q in queries.captured_queries if re.match(r'\s*UPDATE\s+"?accounts_user"?\s', q["sql"], re.I)]


def _pending() -> dict[int, int]:
    entries: list[tuple[bytes, float]] = authcache.cache().zrange("la:pending", 0, -1, withscores=True)  # type: ignore[assignment]
    return {int(member): int(score) for member, score in entries}


@pytest.mark.django_db
def test_requests_queue_activity_in_redis_and_beat_writes_it(client: Client) -> None:
    user = make_user("lena")
    client.force_login(user)

    with CaptureQueriesContext(connection) as requests:
        for _ in range(3):
            client.get("/settings/profile/")
    assert _updates(requests) == []  # nothing written on the request path
    assert list(_pending()) == [user.pk]  # queued once, however many requests
    assert User.objects.get(pk=user.pk).last_active is None

    assert last_active_flush() == 1
    stamped = User.objects.get(pk=user.pk).last_active
    assert stamped is not None
    assert timezone.now() - stamped < timedelta(seconds=5)
    assert _pending() == {}

    # Within the resolution, later requests queue nothing more.
    client.get("/settings/profile/")
    assert _pending() == {}
    assert last_active_flush() == 0


@pytest.mark.django_db
def test_anonymous_requests_record_nothing(client: Client) -> None:
    with CaptureQueriesContext(connection) as queries:
        client.get("/")
    assert _updates(queries) == []
    assert _pending() == {}


@pytest.mark.django_db
def test_flush_is_one_statement_and_never_moves_last_active_backwards() -> None:
    now = timezone.now()
    users = [make_user() for _ in range(5)]
    ahead = users[0]
    User.objects.filter(pk=ahead.pk).update(last_active=now + timedelta(hours=1))
    for user in users:
        assert user_touch_last_active(user=user, now=now) is True

    with CaptureQueriesContext(connection) as flush:
        assert last_active_flush() == 4
    assert len(_updates(flush)) == 1
    seen = dict(User.objects.filter(pk__in=[u.pk for u in users]).values_list("pk", "last_active"))
    assert seen[ahead.pk] == now + timedelta(hours=1)
    for user in users[1:]:
        stamped = seen[user.pk]
        assert stamped is not None
        assert abs(stamped - now) < timedelta(milliseconds=2)


@pytest.mark.django_db
def test_a_flush_that_died_after_taking_the_set_is_finished_by_the_next() -> None:
    user = make_user("ole")
    user_touch_last_active(user=user)
    assert [pk for pk, _ in authcache.activity_take()] == [user.pk]  # taken, then the worker died
    assert User.objects.get(pk=user.pk).last_active is None
    assert last_active_flush() == 1
    assert User.objects.get(pk=user.pk).last_active is not None
    assert authcache.activity_take() == []


def _flush_in_thread(done: list[int]) -> None:
    try:
        done.append(last_active_flush())
    finally:
        connection.close()


@pytest.mark.django_db(transaction=True)
def test_activity_recorded_during_a_flush_is_not_lost() -> None:
    """The flush's UPDATE is held on a row lock while more activity arrives; all of it lands."""
    first, second = make_user("pia"), make_user("quinn")
    now = timezone.now()
    user_touch_last_active(user=first, now=now)

    blocker = psycopg.connect(**connection.get_connection_params(), autocommit=False)
    try:
        blocker.execute("SELECT 1 FROM accounts_user WHERE id = %s FOR UPDATE", [first.pk])
        done: list[int] = []
        flusher = threading.Thread(target=_flush_in_thread, args=(done,))
        flusher.start()
        # The flush has taken the pending set (it is empty again) and waits on the lock.
        assert eventually(
            lambda: authcache.cache().exists("la:flushing") and not authcache.cache().exists("la:pending")
        )
        later = now + timedelta(minutes=1)
        user_touch_last_active(user=second, now=later)
        authcache.cache().delete(f"la:{{{first.pk}}}")  # its resolution passed: recorded again
        user_touch_last_active(user=first, now=later)
    finally:
        blocker.rollback()
        blocker.close()
    flusher.join(timeout=30)
    assert done == [1]
    assert set(_pending()) == {first.pk, second.pk}
    assert last_active_flush() == 2
    rows = dict(User.objects.filter(pk__in=[first.pk, second.pk]).values_list("pk", "last_active"))
    for user in (first, second):
        stamped = rows[user.pk]
        assert stamped is not None
        assert stamped >= later - timedelta(milliseconds=1)
    assert not authcache.cache().exists("la:flushing")


@pytest.mark.django_db
def test_redis_down_writes_postgres_directly_once_per_resolution(client: Client) -> None:
    user = make_user("nina")
    client.force_login(user)
    with override_settings(CACHE_REDIS_URL=DEAD_REDIS):
        with CaptureQueriesContext(connection) as first:
            assert client.get("/settings/profile/").status_code == 200
        assert len(_updates(first)) == 1
        stamped = User.objects.get(pk=user.pk).last_active
        assert stamped is not None
        with CaptureQueriesContext(connection) as later:
            for _ in range(3):
                assert client.get("/settings/profile/").status_code == 200
        assert _updates(later) == []
    assert User.objects.get(pk=user.pk).last_active == stamped


def test_beat_flushes_activity_far_more_often_than_activity_expires() -> None:
    entry = settings.CELERY_BEAT_SCHEDULE["flush-last-active"]
    assert entry["task"] == "accounts.tasks.last_active_flush_task"
    assert entry["schedule"] == settings.LAST_ACTIVE_FLUSH_SECONDS
    assert settings.LAST_ACTIVE_FLUSH_SECONDS + settings.LAST_ACTIVE_RESOLUTION_SECONDS < 86_400 / 10
