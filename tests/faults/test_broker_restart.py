"""Issue 17, item 2: Redis (the Celery broker) restarts while a task runs, and the worker survives.

Injected: the Redis server stopped and started again (empty) while a prefork worker, run as the
Procfile runs it, is in the middle of an acks_late task and waiting on BRPOP for the next one.
Observed: before tweethub.celery's shim, the worker died ("Unrecoverable error: AttributeError(
"'NoneType' object has no attribute 'hostname'")", see its docstring). Now the same process
reconnects, the running task finishes, and a task queued after the restart runs.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from devstack.servers import Redis
from tests.faults.conftest import Site, raw_client, wait_for, write_summary
from tweethub.celery import app as celery_app

TASK = "tests.faults.broker_tasks.note_after"
RUNNING_SECONDS = 6.0  # the task caught by the restart: running before it and after it


def _notes(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


@pytest.mark.timeout(180)
def test_the_worker_survives_a_redis_restart_under_a_running_task(
    site: Site, on_fault_redis: Redis, tmp_path: Path
) -> None:
    raw = raw_client(on_fault_redis)
    notes = tmp_path / "notes.txt"
    worker = site.start_worker(pool="prefork", include=("tests.faults.broker_tasks",))
    log = site.folder / "worker-1.log"

    celery_app.send_task(TASK, args=[str(notes), "before", RUNNING_SECONDS])
    wait_for(lambda: "before started" in _notes(notes), timeout=30, what="the long task to start")
    # Delivered, unacknowledged, and the worker's consumer back on BRPOP for the next message:
    # the state in which losing the connection killed the worker.
    assert int(raw.hlen("unacked")) == 1

    stopped_at = time.monotonic()
    on_fault_redis.stop()
    time.sleep(1.0)
    on_fault_redis.start()
    back_at = time.monotonic()

    celery_app.send_task(TASK, args=[str(notes), "after"])
    wait_for(
        lambda: {"before done", "after done"} <= set(_notes(notes)) or worker.poll() is not None,
        timeout=90,
        interval=0.2,
        what="the running task to finish and the next one to run",
    )
    done_at = time.monotonic()
    output = log.read_text(errors="replace")

    assert worker.poll() is None, output[-3000:]
    assert "Unrecoverable error" not in output
    assert "Connection to broker lost" in output  # the restart did reach this worker
    # Each ran once, in full (the second pool child may run "after" while "before" still runs).
    assert sorted(_notes(notes)) == ["after done", "after started", "before done", "before started"]
    write_summary(
        "broker_restart",
        {
            "redis_down_s": round(back_at - stopped_at, 1),
            "seconds_from_redis_back_to_next_task_done": round(done_at - back_at, 1),
            "worker_alive": worker.poll() is None,
            "notes": _notes(notes),
        },
    )
