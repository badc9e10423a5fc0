"""Reads of the admin panel app."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone

from accounts.models import User
from adminpanel.models import PurgeRun


def last_purge() -> PurgeRun | None:
    """The newest real (not dry) purge, whatever its status: running, done or failed."""
    return PurgeRun.objects.filter(dry_run=False).order_by("-started_at").first()


def next_purge_at(now: datetime | None = None) -> datetime | None:
    """When Celery beat next starts the demo purge after `now` (default: now), or None when it is
    not scheduled (DEMO_MODE off: tweethub.settings adds the beat entry only then).

    PURGE_DEMO_AT is read in Celery's timezone, as beat's crontab reads it.
    """
    if not settings.DEMO_MODE:
        return None
    hour, minute = (int(part) for part in settings.PURGE_DEMO_AT.split(":"))
    local = (now or timezone.now()).astimezone(ZoneInfo(settings.CELERY_TIMEZONE))
    at = local.replace(hour=hour, minute=minute, second=0, microsecond=0)
    # At the exact minute this run is starting: "next" is tomorrow's.
    return at if at > local else at + timedelta(days=1)


def newest_accounts(*, limit: int = 8) -> list[User]:
    """The newest accounts (staff-only on the panel: usernames are personal data)."""
    return list(User.objects.order_by("-date_joined", "-pk")[:limit])
