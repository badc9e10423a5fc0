from __future__ import annotations

import logging

from celery import Task, shared_task

from adminpanel.services import PurgeAlreadyRunning, heartbeat_record, purge_demo_data

logger = logging.getLogger(__name__)


@shared_task(bind=True, ignore_result=True)
def heartbeat_task(self: Task) -> None:  # type: ignore[type-arg]
    """Periodic (Celery beat): proves broker -> worker -> Postgres works end to end."""
    heartbeat_record(worker=str(self.request.hostname or "unknown"))


@shared_task(ignore_result=True)
def purge_demo_data_task() -> None:
    """Nightly (Celery beat, scheduled only with DEMO_MODE on; the service refuses without it).

    Idempotent: redelivered after a worker died (acks_late), it finishes what the first run began.
    No retry: a failed purge is recorded as such and the next night's run completes it.
    """
    try:
        purge_demo_data(progress=logger.info)
    except PurgeAlreadyRunning:
        # Not an error: the purge that holds the lock is doing this job.
        logger.info("demo purge skipped: another one is running")
