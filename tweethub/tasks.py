"""Queueing Celery tasks from on_commit callbacks."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import kombu.exceptions
import redis

logger = logging.getLogger(__name__)


def queue_after_commit(send: Callable[..., Any], *args: Any) -> None:
    """Run `send(*args)` (a task's .delay) after a commit, surviving an unreachable broker.

    The data is committed whatever happens here, so a broker outage must not turn the user's
    success into an error page. Only broker connection errors are caught: anything else is a bug
    and stays loud. Known gap, closed by issue 9's transactional outbox: a task not queued now is
    lost (for a fan-out, until the affected feeds are rebuilt).
    """
    try:
        send(*args)
    except (kombu.exceptions.OperationalError, redis.ConnectionError, ConnectionError, OSError):
        logger.error("could not queue %s%r: broker unreachable", getattr(send, "__name__", send), args, exc_info=True)
