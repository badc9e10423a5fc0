"""The transactional outbox: queue Celery tasks without losing them to a broker outage.

`enqueue` records the task in the caller's transaction and sends it right after commit, deleting
the row once the broker has it. If the broker refuses, the row stays and `relay` (run by beat
every OUTBOX_RELAY_SECONDS, which itself only runs while the broker is reachable) sends it later.

Delivery is at least once: a process that dies between the send and the delete leaves a row that
is sent again. Every task queued this way is idempotent (fan-out ZADDs the same id, retraction
ZREMs it, mail delivery skips delivered mail), so a second run changes nothing.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from functools import cache
from importlib import import_module
from typing import Any

import kombu.exceptions
import redis
from celery import Task
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from tweethub.models import OutboxTask

logger = logging.getLogger(__name__)

# What an unreachable or failing broker raises from .delay().
BROKER_ERRORS = (kombu.exceptions.OperationalError, redis.ConnectionError, ConnectionError, OSError)


def task_named(name: str) -> Task:  # type: ignore[type-arg]
    """The task object for "module.path.task_name", importing its module (a web process has not
    necessarily imported every tasks module). Raises for a name that is not a Celery task."""
    module, _, attribute = name.rpartition(".")
    task = getattr(import_module(module), attribute)
    if not isinstance(task, Task):
        raise TypeError(f"{name} is not a Celery task")
    return task


@cache
def _require_task(name: str) -> None:
    try:
        task_named(name)
    except (ImportError, AttributeError, TypeError, ValueError) as error:
        raise ValueError(f"outbox: {name!r} is not a Celery task ({error})") from error


def _send(task: str, args: list[Any]) -> None:
    # Through the task object: eager mode, routing, serialisation and the publish retry policy apply.
    task_named(task).delay(*args)


def enqueue(task: str, *args: int | str) -> None:
    """Queue `task(*args)` as part of the current transaction (or at once in autocommit).

    The row commits or rolls back with the caller's writes; the send happens after commit and
    never raises for a broker outage: the user's action succeeded, and the relay finishes the job.
    `task` is checked when the row is written (ValueError for a name that is not a Celery task):
    names, not task objects, keep a lower app from importing the tasks of an app above it, and the
    check keeps a typo from failing only later, in a worker, with the user's action long committed.
    """
    _require_task(task)
    row = OutboxTask.objects.create(task=task, args=list(args))
    transaction.on_commit(lambda: _send_and_forget(row))


def run_after_commit(task: str, *args: int | str) -> None:
    """Run `task(*args)` here, in this process, right after the current transaction commits (at once
    in autocommit): for a best-effort effect the same user's next request must already see
    (read-your-writes), which cannot wait for a worker. Named like `enqueue`, so a lower app reaches
    a higher one's effect without importing it (the layer contract in pyproject.toml); nothing is
    stored, so the task must be one whose loss costs only speed (a feed the next read rebuilds).
    A failure is logged and does not reach the caller (its transaction has committed)."""
    _require_task(task)
    transaction.on_commit(lambda: task_named(task)(*args), robust=True)


def _send_and_forget(row: OutboxTask) -> None:
    try:
        _send(row.task, row.args)
    except BROKER_ERRORS:
        logger.warning("broker unreachable: %s stays in the outbox for the relay", row, exc_info=True)
        return
    OutboxTask.objects.filter(pk=row.pk).delete()


def relay(*, batch_size: int = 500) -> int:
    """Send the tasks left behind (older than OUTBOX_GRACE_SECONDS, so a row whose own
    after-commit send is still under way is not doubled). Returns how many were sent.

    Rows are claimed with FOR UPDATE SKIP LOCKED, so two relays split the work; each batch is
    deleted in the transaction that sent it. Stops at the first broker error, leaving the rest
    (and that row, with its attempt counted) for the next run.
    """
    sent = 0
    cutoff = timezone.now() - timedelta(seconds=settings.OUTBOX_GRACE_SECONDS)
    while True:
        with transaction.atomic():
            rows = list(
                OutboxTask.objects.select_for_update(skip_locked=True)
                .filter(created_at__lt=cutoff)
                .order_by("pk")[:batch_size]
            )
            done: list[int] = []
            failed: OutboxTask | None = None
            for row in rows:
                try:
                    _send(row.task, row.args)
                except BROKER_ERRORS:
                    failed = row
                    break
                done.append(row.pk)
            OutboxTask.objects.filter(pk__in=done).delete()
            if failed is not None:
                OutboxTask.objects.filter(pk=failed.pk).update(attempts=failed.attempts + 1)
        sent += len(done)
        if failed is not None:
            logger.warning("outbox relay stopped after %d: broker unreachable", sent)
            return sent
        if len(rows) < batch_size:
            return sent


def pending() -> int:
    """Tasks waiting in the outbox (the admin panel shows it; normally 0)."""
    return OutboxTask.objects.count()
