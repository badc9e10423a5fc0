"""Thin Celery tasks for accounts."""

from __future__ import annotations

import redis
from celery import shared_task
from django.db import OperationalError

from accounts import services


@shared_task(autoretry_for=(OSError, redis.RedisError, OperationalError), retry_backoff=True, max_retries=3)
def geo_index_rebuild_task() -> int | None:
    """The periodic rebuild of the GEO index (settings.GEO_REBUILD_SECONDS). Idempotent; skipped
    (None) while another process is rebuilding."""
    return services.geo_index_rebuild()


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def signup_mail_task(token: str, base_url: str, mail_grant: str) -> bool:
    """Queued through the outbox by every sign-up request, whether or not an account uses the
    address: the worker, not the request, finds out (services.signup_request). True when it mailed
    the link that finishes the sign-up, False when it told the address's owner instead."""
    return services.signup_mail_send(token=token, base_url=base_url, mail_grant=mail_grant)


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def password_reset_mail_task(email: str, base_url: str) -> int:
    """Queued through the outbox by every password reset request, whether or not an account uses
    `email`: the worker, not the request, finds out (services.password_reset_request). Returns how
    many mails it sent. A repeat sends another, equally valid link (see the service)."""
    return services.password_reset_mail_send(email=email, base_url=base_url)


@shared_task(autoretry_for=(OSError, redis.RedisError, OperationalError), retry_backoff=True, max_retries=3)
def last_active_flush_task() -> int:
    """Beat, every LAST_ACTIVE_FLUSH_SECONDS: write the activity queued in Redis to last_active.
    Idempotent; a failed run leaves its entries for the next."""
    return services.last_active_flush()


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=3)
def follower_shards_fold_task() -> int:
    """Beat, every FOLLOWER_COUNT_FOLD_SECONDS: fold follower-count shards into UserStats.
    Idempotent; never waits on a lock (what is busy waits for the next run)."""
    return services.follower_shards_fold()
