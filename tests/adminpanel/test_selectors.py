"""adminpanel.selectors: what the panel says about the last and the next purge."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from django.test.utils import override_settings

from adminpanel.models import PurgeRun
from adminpanel.selectors import last_purge, next_purge_at


@override_settings(DEMO_MODE=True, PURGE_DEMO_AT="03:30", CELERY_TIMEZONE="UTC")
@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (datetime(2026, 3, 1, 2, 0, tzinfo=UTC), datetime(2026, 3, 1, 3, 30, tzinfo=UTC)),
        (datetime(2026, 3, 1, 3, 30, tzinfo=UTC), datetime(2026, 3, 2, 3, 30, tzinfo=UTC)),  # starting now
        (datetime(2026, 3, 1, 23, 59, tzinfo=UTC), datetime(2026, 3, 2, 3, 30, tzinfo=UTC)),
        (datetime(2026, 12, 31, 4, 0, tzinfo=UTC), datetime(2027, 1, 1, 3, 30, tzinfo=UTC)),
    ],
)
def test_next_purge_is_the_next_scheduled_minute(now: datetime, expected: datetime) -> None:
    assert next_purge_at(now) == expected


@override_settings(DEMO_MODE=True, PURGE_DEMO_AT="03:30", CELERY_TIMEZONE="UTC")
def test_next_purge_accepts_any_aware_now() -> None:
    now = datetime(2026, 3, 1, 5, 0, tzinfo=timezone(timedelta(hours=2)))  # 03:00 UTC
    assert next_purge_at(now) == datetime(2026, 3, 1, 3, 30, tzinfo=UTC)


@override_settings(DEMO_MODE=True, PURGE_DEMO_AT="03:30", CELERY_TIMEZONE="Europe/Paris")
def test_next_purge_reads_the_time_in_celerys_timezone() -> None:
    # Beat's crontab counts in CELERY_TIMEZONE: 03:30 in Paris is 02:30 UTC in winter.
    assert next_purge_at(datetime(2026, 1, 10, 2, 0, tzinfo=UTC)) == datetime(2026, 1, 10, 2, 30, tzinfo=UTC)


@override_settings(DEMO_MODE=False)
def test_no_next_purge_without_demo_mode() -> None:
    assert next_purge_at(datetime(2026, 3, 1, 2, 0, tzinfo=UTC)) is None


@pytest.mark.django_db
def test_last_purge_is_the_newest_real_run_whatever_its_status() -> None:
    assert last_purge() is None
    start = datetime(2026, 3, 1, 3, 30, tzinfo=UTC)
    PurgeRun.objects.create(started_at=start, status=PurgeRun.Status.DONE, counts={"users": 4})
    failed = PurgeRun.objects.create(started_at=start + timedelta(days=1), status=PurgeRun.Status.FAILED)
    PurgeRun.objects.create(started_at=start + timedelta(days=1, hours=5), dry_run=True, status=PurgeRun.Status.DONE)

    assert last_purge() == failed
