from __future__ import annotations

from celery import Task, shared_task

from adminpanel.services import heartbeat_record


@shared_task(bind=True, ignore_result=True)
def heartbeat_task(self: Task) -> None:  # type: ignore[type-arg]
    """Periodic (Celery beat): proves broker -> worker -> Postgres works end to end."""
    heartbeat_record(worker=str(self.request.hostname or "unknown"))
