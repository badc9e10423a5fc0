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


@shared_task(autoretry_for=(OSError, redis.RedisError, OperationalError), retry_backoff=True, max_retries=3)
def last_active_flush_task() -> int:
    """Beat, every LAST_ACTIVE_FLUSH_SECONDS: write the activity queued in Redis to last_active.
    Idempotent; a failed run leaves its entries for the next."""
    return services.last_active_flush()
