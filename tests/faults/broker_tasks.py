"""Tasks for the fault tests' worker processes only (`celery worker --include tests.faults.broker_tasks`):
the site has no task that simply takes a while, which a broker restart must catch mid-run."""

from __future__ import annotations

import time
from pathlib import Path

from celery import shared_task


def _note(path: str, line: str) -> None:
    with Path(path).open("a") as notes:
        notes.write(f"{line}\n")


@shared_task(ignore_result=True)
def note_after(path: str, mark: str, seconds: float = 0.0) -> None:
    """Append "<mark> started" to the file at `path`, wait `seconds`, then append "<mark> done"
    (acks_late, as every task here: the message stays unacknowledged while this runs)."""
    _note(path, f"{mark} started")
    time.sleep(seconds)
    _note(path, f"{mark} done")
