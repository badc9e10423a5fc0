"""last_active: queued in Redis per request, written to Postgres in batches."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import redis
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from accounts import authcache
from accounts.models import User

logger = logging.getLogger(__name__)

logger = logging.getLogger(__name__)


def user_touch_last_active(*, user: User, now: datetime | None = None) -> bool:
    """Record activity for a request whose session did not already do it in its Redis read (a
    session served from Postgres). True when something was recorded.

    Nothing is written on the request path: the user joins the pending set in Redis (at most once
    per LAST_ACTIVE_RESOLUTION_SECONDS) and beat's last_active_flush writes Postgres. Only with
    Redis unavailable does it write Postgres directly, and then only when the loaded row's
    last_active is older than the resolution: at most one write per resolution per process.
    """
    now = now or timezone.now()
    try:
        return authcache.activity_record(user_id=user.pk, now_ms=int(now.timestamp() * 1000))
    except (redis.RedisError, OSError):
        logger.warning("activity not queued (Redis unavailable); writing last_active directly", exc_info=True)
    resolution = timedelta(seconds=settings.LAST_ACTIVE_RESOLUTION_SECONDS)
    if user.last_active is not None and now - user.last_active < resolution:
        return False
    User.objects.filter(pk=user.pk).filter(Q(last_active__isnull=True) | Q(last_active__lt=now)).update(
        last_active=now
    )
    user.last_active = now
    return True


def last_active_flush() -> int:
    """Write the activity queued in Redis to Postgres: one UPDATE for everyone pending. Returns
    the users written.

    The pending set is taken atomically (accounts.authcache.activity_take), so activity recorded
    during the flush waits for the next one; entries leave Redis only after the UPDATE committed,
    so a failed flush is retried by the next. last_active never moves backwards (a direct write
    made while Redis was down may be newer). Idempotent; safe to run concurrently.
    """
    entries = authcache.activity_take()
    if not entries:
        return 0
    ids = [user_id for user_id, _ in entries]
    times = [datetime.fromtimestamp(ms / 1000, tz=UTC) for _, ms in entries]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE accounts_user AS u SET last_active = seen.at
            FROM unnest(%s::bigint[], %s::timestamptz[]) AS seen(id, at)
            WHERE u.id = seen.id AND (u.last_active IS NULL OR u.last_active < seen.at)
            """,
            [ids, times],
        )
        written = int(cursor.rowcount)
    authcache.activity_ack(entries=entries)
    return written
