"""last_active: fresh for the fan-out, at most one Postgres write per user per resolution."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext, override_settings
from django.utils import timezone

from accounts.models import User
from accounts.services import user_touch_last_active
from tests.factories import make_user


def _updates(queries: CaptureQueriesContext) -> list[str]:
    return [q["sql"] for q in queries.captured_queries if q["sql"].startswith('UPDATE "accounts_user"')]


@pytest.mark.django_db
def test_authenticated_requests_touch_last_active_once_per_resolution(client: Client) -> None:
    user = make_user("lena")
    client.force_login(user)

    with CaptureQueriesContext(connection) as first:
        client.get("/")
    assert len(_updates(first)) == 1
    stamped = User.objects.get(pk=user.pk).last_active
    assert stamped is not None
    assert timezone.now() - stamped < timedelta(seconds=5)

    with CaptureQueriesContext(connection) as later:
        for _ in range(5):
            client.get("/")
    assert _updates(later) == []
    assert User.objects.get(pk=user.pk).last_active == stamped


@pytest.mark.django_db
def test_anonymous_requests_write_nothing(client: Client) -> None:
    with CaptureQueriesContext(connection) as queries:
        client.get("/")
    assert _updates(queries) == []


@pytest.mark.django_db
def test_stale_value_is_rewritten_and_concurrent_requests_elect_one_writer() -> None:
    user = make_user("max")
    now = timezone.now()
    assert user_touch_last_active(user=user, now=now) is True

    later = now + timedelta(seconds=301)
    # Another process holding an older copy of the row: the Redis claim stops a second write.
    stale_copy = User.objects.get(pk=user.pk)
    stale_copy.last_active = now - timedelta(days=1)
    assert user_touch_last_active(user=stale_copy, now=now) is False

    # Once the resolution has passed (the Redis claim expires with it), one write happens again.
    from tweethub.redis import feeds

    feeds().delete(f"la:{{{user.pk}}}")
    assert user_touch_last_active(user=user, now=later) is True
    assert User.objects.get(pk=user.pk).last_active == later


@pytest.mark.django_db
def test_redis_down_still_records_activity(client: Client) -> None:
    user = make_user("nina")
    client.force_login(user)
    with override_settings(FEEDS_REDIS_URL="unix:///nonexistent/redis.sock"):
        assert client.get("/").status_code == 200
    assert User.objects.get(pk=user.pk).last_active is not None
