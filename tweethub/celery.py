"""The Celery application. Configuration lives in Django settings under the CELERY_ prefix.

Also the declaration of the keys kombu's Redis transport keeps on the broker (REDIS_KEYS), and the
broker's census for the admin panel (`queue_depth`)."""

from __future__ import annotations

import os
from typing import Any

import redis
from celery import Celery
from kombu.transport import redis as kombu_redis

from tweethub import queues
from tweethub.redis import Role, broker
from tweethub.rediskeys import KeyFamily

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tweethub.settings")


def _detached_channels_raise_connection_errors() -> None:
    """Work around a worker crash when Redis restarts under a running task (issue 17, item 2).

    What happens (celery 5.7.0, kombu 5.7.0, a prefork worker with a task running, acks_late):
    the BRPOP socket dies, so the consumer's on_connection_error_after_connected calls
    Connection.collect() and then Connection.close() on the same connection. collect() closes the
    channels; the task channel's close first reads its pending BRPOP reply, which raises a
    ConnectionError (caught and ignored), so that channel is left open with the running task's
    message in its QoS. collect() then detaches the transport from the connection
    (transport.client = None). close() closes that channel again, and its QoS restores the
    unacknowledged message, which builds a new Redis pool from `self.connection.client.hostname`:
    an AttributeError. Neither kombu nor Celery treats that as a connection error, so the worker
    logs "Unrecoverable error" and exits. When the running task finishes later, acknowledging its
    message through that detached channel fails the same way.

    The workaround: a channel whose transport was detached raises redis's ConnectionError
    instead, which kombu and Celery already handle as "the broker went away": the worker
    reconnects, and the late ack is logged as "Couldn't ack" instead of killing it. The message
    stays in Redis's `unacked` set (if Redis kept its data) and the visibility timeout brings it
    back: delivery stays at least once, as with a killed worker (every task is idempotent).
    tests/faults/test_broker_restart.py restarts a real Redis under a real worker to prove it.
    Remove this once kombu no longer builds a pool from a detached transport.
    """
    channel_class: Any = kombu_redis.Channel  # private method: not in kombu's type stubs
    original = channel_class._connparams

    def _connparams(self: Any, asynchronous: bool = False) -> dict[str, Any]:
        if self.connection.client is None:
            raise redis.exceptions.ConnectionError("this channel's broker connection was closed already")
        return dict(original(self, asynchronous=asynchronous))

    channel_class._connparams = _connparams


_detached_channels_raise_connection_errors()

app = Celery("tweethub")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# A worker that starts takes back what killed workers left: tasks they held unacknowledged, tasks
# lost on the way to them (signal handlers; see the module).
from tweethub import worker_recovery  # noqa: E402

worker_recovery.install(app)


# kombu's Redis transport keeps each queue in a list named after it, and its priorities in separate
# lists named queue + sep + step.
_PRIORITY_SEP = "\x06\x16"
_PRIORITY_STEPS = (3, 6, 9)

# Keys kombu's Redis transport writes on the broker (named by kombu, not by us). Never purged: the
# broker shares the server with the feeds by default, and a purge must not drop queued tasks.
REDIS_KEYS = (
    *(
        KeyFamily(
            key=queue,
            role=Role.BROKER,
            holds=f"queued tasks of the `{queue}` queue (tweethub.queues)",
            rebuilt_by=(
                "tasks a commit needs sit in the Postgres outbox until published; "
                "a task lost after publishing is not re-sent"
            ),
        )
        for queue in queues.NAMES
    ),
    KeyFamily(
        key=f"<queue>{_PRIORITY_SEP}<priority>",
        pattern=f"*{_PRIORITY_SEP}*",
        role=Role.BROKER,
        holds="queued tasks of one queue and priority",
        rebuilt_by="as the queue's own list",
    ),
    KeyFamily(
        key="_kombu.binding.<queue>",
        role=Role.BROKER,
        holds="kombu's exchange bindings",
        rebuilt_by="kombu, as a worker or publisher declares its queues",
    ),
    KeyFamily(
        key="unacked<suffix>",
        pattern="unacked*",
        role=Role.BROKER,
        holds="tasks taken by a worker and not acknowledged (`unacked`, `unacked_index`, `unacked_mutex`)",
        rebuilt_by="put back by the next worker that starts (tweethub.worker_recovery)",
    ),
)


def queue_depths(client: redis.Redis | None = None) -> dict[str, int]:
    """Tasks waiting in each queue (not those a worker already took), over every priority, in one
    round trip; on the broker's Redis, or on `client` (tests with a Redis of their own)."""
    pipe = (client or broker()).pipeline(transaction=False)
    for queue in queues.NAMES:
        pipe.llen(queue)
        for step in _PRIORITY_STEPS:
            pipe.llen(f"{queue}{_PRIORITY_SEP}{step}")
    counts = [int(value) for value in pipe.execute()]
    per_queue = 1 + len(_PRIORITY_STEPS)
    return {queue: sum(counts[i * per_queue : (i + 1) * per_queue]) for i, queue in enumerate(queues.NAMES)}


def queue_depth(client: redis.Redis | None = None) -> int:
    """Tasks waiting in the broker, all queues together (the admin panel's figure)."""
    return sum(queue_depths(client).values())
