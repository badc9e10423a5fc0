"""What a killed Celery worker leaves behind, and how the worker that replaces it gets it back.

A worker killed outright (SIGKILL, the OOM killer, a lost machine) cannot hand back what it took
from kombu's Redis transport, which can lose tasks two ways (tests/faults/test_worker_restart.py
shows both on real processes; under the chaos test's traffic a killed worker held tasks at about
one kill in four):

1. Tasks it had taken and not acknowledged (acks_late: a task running, or prefetched). kombu keeps
   each in its `unacked` hash, scored by delivery time in `unacked_index`, and puts back only those
   older than the visibility timeout (CELERY_VISIBILITY_TIMEOUT, an hour), sweeping every 100 s: a
   fan-out killed half-way reached the other followers an hour later, though devstack.respawn (or
   a container's restart policy) had a new worker running within seconds.
2. A task sent in the instant the worker died. The transport takes messages with BRPOP and writes
   them to `unacked` only once it has read the reply; Redis hands a message to a BRPOP whose
   process has just died (or is about to: the reply sits unread in its socket), and the message is
   gone from Redis. A task sent within 2 ms of a SIGKILL of an idle worker was lost 10 times in 12.

So as a worker process starts (`worker_init`), before its consumer takes anything:
- it puts back in the queue every unacknowledged task: none is its own yet, so each belongs to a
  dead worker (with one worker, as `make run` and the compose file run it, always) or to another
  live worker that is running it right now;
- it sends again every task that the delivery ledger says was sent before it started, never
  started, and is neither queued nor unacknowledged anywhere: lost on the way.
The ledger is two keys on the broker's Redis: `tasks:sent` (task id -> what to send again) and
`tasks:sent:at` (task id -> when), written as a task is published (`before_task_publish`, one
round trip) and cleared when a worker starts it, discards it (expired, revoked) or rejects it
(one round trip). Both keys go with the broker's own data when Redis loses it.

Either way a task may run twice: delivery is at least once and every task is idempotent
(tweethub.outbox), so that is safe; with several workers, one that (re)starts may run again a task
another is running at that moment. Both steps run under kombu's own restore mutex, so two workers
starting together do not both do it. A failure (Redis away) leaves the work to the transport's
sweep and is logged; publishing and running tasks never fail because the ledger could not be
written (an entry not written is only a task this cannot recover; one not cleared is at worst run
again at a worker's start).
"""

from __future__ import annotations

import json
import logging
import time
from datetime import datetime
from typing import Any

import redis
from celery import Celery, signals
from kombu.transport import redis as kombu_redis

from tweethub.redis import Role, client_for, redis_url
from tweethub.rediskeys import KeyFamily

logger = logging.getLogger(__name__)

SENT = "tasks:sent"  # hash: task id -> {"task", "args", "kwargs", "eta", "expires"} as JSON
SENT_AT = "tasks:sent:at"  # sorted set: task id -> when it was published (epoch seconds)
# Ledger entries older than this are dropped when a worker starts: a task that was neither run nor
# found lost in a day (its publish failed after the entry was written, say) is not coming.
FORGET_AFTER_SECONDS = 86_400

REDIS_KEYS = (
    KeyFamily(
        key=SENT,
        role=Role.BROKER,
        holds="the delivery ledger: task id -> what to send again, for tasks published and not yet started",
        rebuilt_by="lost with the broker's own data (a task lost then is not re-sent)",
    ),
    KeyFamily(key=SENT_AT, role=Role.BROKER, holds="the ledger: task id -> when published", rebuilt_by="as its hash"),
)


_installed_app: Celery | None = None


def install(app: Celery) -> None:
    """Called by tweethub.celery once the app is configured: the handlers below act for it. (Passed
    in, not imported: tweethub.celery is the module that installs this one.)"""
    global _installed_app
    _installed_app = app


def _app() -> Celery:
    if _installed_app is None:
        raise RuntimeError("tweethub.worker_recovery is not installed (tweethub.celery installs it)")
    return _installed_app


def _ledger() -> redis.Redis:
    """A client for the broker's Redis (a redis+socket:// broker URL is a unix:// Redis URL)."""
    return client_for(redis_url(str(_app().conf.broker_url)))


# --- The ledger -----------------------------------------------------------------------------------


@signals.before_task_publish.connect
def _record_sent(sender: str | None = None, body: Any = None, headers: dict[str, Any] | None = None, **_: Any) -> None:
    headers = headers or {}
    task_id = headers.get("id")
    if not task_id:
        return
    args, kwargs = (body[0], body[1]) if isinstance(body, list | tuple) and len(body) >= 2 else ([], {})
    entry = {
        "task": headers.get("task") or sender,
        "args": args,
        "kwargs": kwargs,
        "eta": headers.get("eta"),
        "expires": headers.get("expires"),
    }
    try:
        pipe = _ledger().pipeline(transaction=False)
        pipe.hset(SENT, task_id, json.dumps(entry, default=str))
        pipe.zadd(SENT_AT, {task_id: time.time()})
        pipe.execute()
    except (redis.RedisError, OSError):
        # The broker is away (the publish fails too: the outbox keeps what a commit needs).
        logger.debug("could not record task %s as sent", task_id, exc_info=True)


def _forget(task_id: str | None) -> None:
    if not task_id:
        return
    try:
        pipe = _ledger().pipeline(transaction=False)
        pipe.hdel(SENT, task_id)
        pipe.zrem(SENT_AT, task_id)
        pipe.execute()
    except (redis.RedisError, OSError):
        logger.debug("could not clear task %s from the ledger", task_id, exc_info=True)


@signals.task_prerun.connect
def _forget_started(task_id: str | None = None, **_: Any) -> None:
    _forget(task_id)


@signals.task_revoked.connect
def _forget_revoked(request: Any = None, **_: Any) -> None:
    _forget(getattr(request, "id", None))


@signals.task_unknown.connect
def _forget_unknown(id: str | None = None, **_: Any) -> None:  # the signal names it "id"
    _forget(id)


@signals.task_rejected.connect
def _forget_rejected(message: Any = None, **_: Any) -> None:
    _forget((getattr(message, "headers", None) or {}).get("id"))


# --- At a worker's start --------------------------------------------------------------------------


def _headers(raw_messages: list[bytes], *, unacked: bool) -> list[dict[str, Any]]:
    """The headers of raw kombu messages (an `unacked` value is [message, exchange, routing key])."""
    found = []
    for raw in raw_messages:
        try:
            message = json.loads(raw)
            found.append(dict((message[0] if unacked else message)["headers"]))
        except (ValueError, KeyError, IndexError, TypeError):
            continue
    return found


def _ids_in(raw_messages: list[bytes], *, unacked: bool) -> set[str]:
    return {str(headers.get("id")) for headers in _headers(raw_messages, unacked=unacked)}


def _names(raw_messages: list[bytes], *, unacked: bool) -> list[str]:
    return [str(headers.get("task")) for headers in _headers(raw_messages, unacked=unacked)]


def _when(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) and value else None


def _take_back_unacknowledged(channel: Any, client: redis.Redis) -> list[str]:
    """Put back every task delivered and never acknowledged (this worker has taken none yet), as
    kombu's own sweep does once they are older than the visibility timeout. Their names."""
    held: dict[bytes, bytes] = client.hgetall(channel.unacked_key)  # type: ignore[assignment]
    for tag in held:
        channel.qos.restore_by_tag(tag, client)
    return sorted(_names(list(held.values()), unacked=True))


def _send_again_what_was_lost(channel: Any, client: redis.Redis, started_at: float) -> list[str]:
    """Send again each task sent before this worker started that no worker started and that is
    neither queued nor unacknowledged anywhere; their names. Read in this order (queues, then
    `unacked`, then the ledger once more), a task moving on meanwhile is seen at least once, or
    was started (and left the ledger)."""
    candidates: list[bytes] = _ledger().zrange(SENT_AT, "-inf", started_at, byscore=True)  # type: ignore[assignment]
    if not candidates:
        return []
    present: set[str] = set()
    for queue in _app().amqp.queues:
        for priority in channel.priority_steps:
            present |= _ids_in(client.lrange(channel._q_for_pri(queue, priority), 0, -1), unacked=False)  # type: ignore[arg-type]
    present |= _ids_in(client.hvals(channel.unacked_key), unacked=True)  # type: ignore[arg-type]
    missing = [task_id for task_id in candidates if task_id.decode() not in present]
    raws: list[bytes | None] = _ledger().hmget(SENT, missing) if missing else []  # type: ignore[assignment]
    sent = []
    for task_id, raw in zip(missing, raws, strict=True):
        if raw is None:
            continue  # started meanwhile
        entry = json.loads(raw)
        _app().send_task(
            entry["task"],
            args=entry["args"],
            kwargs=entry["kwargs"],
            task_id=task_id.decode(),
            eta=_when(entry.get("eta")),
            expires=_when(entry.get("expires")),
        )
        sent.append(str(entry["task"]))
    stale: list[bytes] = _ledger().zrange(SENT_AT, "-inf", time.time() - FORGET_AFTER_SECONDS, byscore=True)  # type: ignore[assignment]
    if stale:
        _ledger().hdel(SENT, *stale)
        _ledger().zrem(SENT_AT, *stale)
    return sorted(sent)


@signals.worker_init.connect
def _recover_what_dead_workers_left(**_: Any) -> None:
    """As the worker process starts, before its consumer takes anything from the broker (so
    nothing in `unacked` is its own, and no reply to a BRPOP of its own is in flight)."""
    started_at = time.time()
    try:
        with _app().connection_for_write() as connection:
            channel: Any = connection.default_channel
            if not isinstance(channel, kombu_redis.Channel):
                return  # another transport (memory in some tests): nothing of this applies
            with (
                channel.conn_or_acquire() as client,
                kombu_redis.Mutex(client, channel.unacked_mutex_key, channel.unacked_mutex_expire),
            ):
                taken_back = _take_back_unacknowledged(channel, client)
                sent_again = _send_again_what_was_lost(channel, client, started_at)
    except kombu_redis.MutexHeld:
        logger.warning("another worker is recovering what dead workers left; not doing it twice")
        return
    except (redis.RedisError, OSError):
        logger.warning("could not recover what dead workers left", exc_info=True)
        return
    if taken_back:
        logger.warning(
            "took back %d task(s) delivered to a worker that died before acknowledging them: %s",
            len(taken_back),
            ", ".join(taken_back),
        )
    if sent_again:
        logger.warning(
            "sent again %d task(s) lost on the way to a worker that died: %s", len(sent_again), ", ".join(sent_again)
        )
