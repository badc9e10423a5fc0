"""A worker killed in the middle of its work: the worker that replaces it gets back what it left.

Injected: SIGKILL of a prefork worker (as the Procfile runs it) and of its pool processes, then a
new worker started, as devstack.respawn or a container's restart policy does, with the production
visibility timeout (an hour). Two cases, each lost by kombu's Redis transport before
tweethub.worker_recovery:
- a task running when the worker died: delivered and never acknowledged (acks_late), it sits in
  `unacked` and came back only after the visibility timeout; now the new worker puts it back as it
  starts and runs it at once;
- a task sent in the instant the worker died, held open here by freezing the worker (SIGSTOP)
  while its consumer waits on BRPOP: Redis hands the message to the frozen process, the kill
  discards it, and it is nowhere in Redis; now the new worker sends it again from the ledger.
In both, the task runs and a task sent afterwards runs too. test_worker_killed.py shows the
visibility timeout's own path.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
import redis

from devstack.servers import Redis
from tests.faults.conftest import Site, raw_client, wait_for, write_summary
from tweethub.celery import app as celery_app
from tweethub.celery import queue_depth

TASK = "tests.faults.broker_tasks.note_after"
RUNNING_SECONDS = 8.0  # long enough to be killed in the middle of it


def _notes(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def _children(parent: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == parent:
                found.append(int(stat.parent.name))
        except (OSError, ValueError, IndexError):
            continue
    return found


@pytest.mark.timeout(180)
def test_a_task_whose_worker_was_killed_runs_again_as_soon_as_a_new_worker_starts(
    site: Site, on_fault_redis: Redis, tmp_path: Path
) -> None:
    raw = raw_client(on_fault_redis)
    notes = tmp_path / "notes.txt"
    first = site.start_worker(pool="prefork", include=("tests.faults.broker_tasks",))
    celery_app.send_task(TASK, args=[str(notes), "killed", RUNNING_SECONDS])
    wait_for(lambda: "killed started" in _notes(notes), timeout=30, what="the task to start")

    pool = _children(first.pid)
    os.kill(first.pid, signal.SIGKILL)
    for pid in pool:  # what a dead container or a supervisor's clean-up takes with it
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            continue
    first.wait(10)
    killed_at = time.monotonic()
    # Delivered, never acknowledged, not in the queue: only a restore brings it back.
    assert queue_depth(raw) == 0
    assert int(raw.hlen("unacked")) == 1

    second = site.start_worker(pool="prefork", include=("tests.faults.broker_tasks",))
    started_at = time.monotonic()
    wait_for(
        lambda: _notes(notes).count("killed started") == 2 or second.poll() is not None,
        timeout=60,
        interval=0.2,
        what="the killed task to run again",
    )
    running_again_at = time.monotonic()
    celery_app.send_task(TASK, args=[str(notes), "after"])
    wait_for(
        lambda: {"after done", "killed done"} <= set(_notes(notes)),
        timeout=60,
        interval=0.2,
        what="the next task, and the one taken back, to finish",
    )

    output = (site.folder / "worker-2.log").read_text(errors="replace")
    assert second.poll() is None, output[-3000:]
    assert "took back 1 task(s) delivered to a worker that died before acknowledging them" in output
    # The killed run never finished; the one taken back did, once; the next task ran beside it.
    assert sorted(_notes(notes)) == ["after done", "after started", "killed done", "killed started", "killed started"]
    write_summary(
        "worker_restart",
        {
            "seconds_from_kill_to_new_worker_ready": round(started_at - killed_at, 1),
            "seconds_from_new_worker_ready_to_the_task_running_again": round(running_again_at - started_at, 1),
            "visibility_timeout_s": 3600,
            "notes": _notes(notes),
        },
    )


def _blocked_on_brpop(raw: redis.Redis) -> bool:
    return any(client.get("cmd") == "brpop" and "b" in str(client.get("flags", "")) for client in raw.client_list())


@pytest.mark.timeout(180)
def test_a_task_sent_as_its_worker_died_is_sent_again_by_the_next_worker(
    site: Site, on_fault_redis: Redis, tmp_path: Path
) -> None:
    """The race of a task sent in the instant a worker dies, held open: the worker is frozen
    (SIGSTOP) while its consumer waits on BRPOP, the task is sent (Redis hands it to the frozen
    worker, whose socket holds it unread), then the worker is killed. The message is then nowhere
    in Redis: not queued, not unacknowledged."""
    raw = raw_client(on_fault_redis)
    notes = tmp_path / "notes.txt"
    first = site.start_worker(pool="prefork", include=("tests.faults.broker_tasks",))
    swallowed = None
    for attempt in range(20):
        os.kill(first.pid, signal.SIGSTOP)
        if _blocked_on_brpop(raw):
            result = celery_app.send_task(TASK, args=[str(notes), f"sent as it died {attempt}"])
            if queue_depth(raw) == 0 and int(raw.hlen("unacked")) == 0:
                swallowed = result.id
                break
        os.kill(first.pid, signal.SIGCONT)  # its BRPOP timed out first: the task runs; again
        time.sleep(0.3)
    assert swallowed is not None, "never caught the worker's consumer on BRPOP"
    mark = f"sent as it died {attempt}"

    pool = _children(first.pid)
    os.kill(first.pid, signal.SIGKILL)
    for pid in pool:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            continue
    first.wait(10)
    killed_at = time.monotonic()
    # Lost to the transport: neither queued nor unacknowledged.
    assert queue_depth(raw) == 0
    assert int(raw.hlen("unacked")) == 0
    assert f"{mark} started" not in _notes(notes)

    second = site.start_worker(pool="prefork", include=("tests.faults.broker_tasks",))
    ready_at = time.monotonic()
    wait_for(
        lambda: f"{mark} done" in _notes(notes) or second.poll() is not None,
        timeout=60,
        interval=0.2,
        what="the lost task to run",
    )
    ran_at = time.monotonic()
    output = (site.folder / "worker-2.log").read_text(errors="replace")
    assert second.poll() is None, output[-3000:]
    assert "sent again 1 task(s) lost on the way to a worker that died" in output
    assert _notes(notes).count(f"{mark} started") == 1
    assert not raw.hexists("tasks:sent", swallowed)  # started: off tweethub.worker_recovery's ledger
    write_summary(
        "worker_restart_lost_send",
        {
            "attempts_to_catch_the_consumer_on_brpop": attempt + 1,
            "seconds_from_kill_to_new_worker_ready": round(ready_at - killed_at, 1),
            "seconds_from_new_worker_ready_to_the_lost_task_done": round(ran_at - ready_at, 1),
        },
    )
