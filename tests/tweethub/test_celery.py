"""Background work really goes through the broker to a worker and into Postgres."""

from __future__ import annotations

import pytest

from adminpanel.models import WorkerHeartbeat
from adminpanel.tasks import heartbeat_task
from tests.waiting import eventually


@pytest.mark.django_db(transaction=True)
def test_task_runs_on_a_real_worker_and_writes_postgres(celery_worker: object) -> None:
    assert not WorkerHeartbeat.objects.exists()

    heartbeat_task.delay()
    heartbeat_task.delay()

    assert eventually(lambda: WorkerHeartbeat.objects.filter(beats=2).exists())
    assert WorkerHeartbeat.objects.get().worker  # named after the host that ran it


@pytest.mark.django_db(transaction=True)
def test_task_queued_without_a_worker_waits_in_the_broker(celery_worker: object) -> None:
    """The queue is real: what is published is consumed exactly once."""
    results = [heartbeat_task.delay() for _ in range(5)]
    assert len({r.id for r in results}) == 5
    assert eventually(lambda: WorkerHeartbeat.objects.filter(beats=5).exists())
