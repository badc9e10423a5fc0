"""Queueing Celery tasks: best effort for cache repairs, and the outbox relay task.

Work that a committed change needs (fan-out, retraction, backfill, mail delivery) goes through
tweethub.outbox instead, which cannot lose it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import kombu.exceptions
import redis
from celery import shared_task

logger = logging.getLogger(__name__)


def queue_after_commit(send: Callable[..., Any], *args: Any) -> None:
    """Run `send(*args)` (a task's .delay), surviving an unreachable broker: for requests to
    repair a cache (a feed rebuild after a read found none), which the next read asks for again
    if this one is lost. Only broker connection errors are caught: anything else stays loud."""
    try:
        send(*args)
    except (kombu.exceptions.OperationalError, redis.ConnectionError, ConnectionError, OSError):
        logger.error("could not queue %s%r: broker unreachable", getattr(send, "__name__", send), args, exc_info=True)


@shared_task(ignore_result=True)
def outbox_relay_task() -> int:
    """Beat, every OUTBOX_RELAY_SECONDS: send the outbox rows the broker refused earlier."""
    from tweethub import outbox

    return outbox.relay()
