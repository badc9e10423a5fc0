"""The servers the site runs on: Postgres (the single source of truth), Redis (rebuildable state
only) and Celery (the background work and its schedule)."""

from __future__ import annotations

from typing import Any

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from kombu import Exchange, Queue

from tweethub import queues
from tweethub.dbpool import PooledConnection, shorten_waits_while_unreachable
from tweethub.env import celery_broker_url, env_bool, env_float, env_int, env_list, env_str
from tweethub.settings.accounts import FOLLOWER_COUNT_FOLD_SECONDS, LAST_ACTIVE_FLUSH_SECONDS
from tweethub.settings.core import DEMO_MODE

# --- Postgres: the single source of truth ---------------------------------------------------------

# Most connections each process's psycopg pool opens (web and workers alike; opened on demand, so a
# Celery child uses one or two). A web process runs each in-flight request's sync code in its own
# thread and a request keeps its connection until it ends, so this bounds how many requests per
# process can be inside the database at once; the rest wait up to DB_POOL_TIMEOUT_SECONDS, then get
# a 503 with Retry-After. Postgres's max_connections must exceed processes x this (devstack: 300 for
# ~10 processes x 20). Persistent connections are not safe under ASGI, a pool is; CONN_MAX_AGE stays 0.
DB_POOL_MAX_SIZE = env_int("DB_POOL_MAX_SIZE", default=20, minimum=1)
# Connections each process keeps open when idle, so a quiet process answers without connecting.
DB_POOL_MIN_SIZE = env_int("DB_POOL_MIN_SIZE", default=2, minimum=0)
# Seconds a request waits for a free connection before it gets a 503 (tweethub.views.server_error).
DB_POOL_TIMEOUT_SECONDS = env_float("DB_POOL_TIMEOUT_SECONDS", default=5.0)
# Seconds a request waits for a connection instead, while Postgres refuses new ones (it is down):
# the 503 page comes this fast, and each request tries to reconnect (tweethub.dbpool).
DB_DOWN_TIMEOUT_SECONDS = env_float("DB_DOWN_TIMEOUT_SECONDS", default=1.0)
# Give up on a statement after this many milliseconds, so a stuck query cannot pin a worker.
DB_STATEMENT_TIMEOUT_MS = env_int("DB_STATEMENT_TIMEOUT_MS", default=30_000, minimum=0)

# What DATABASE_URL points at: "postgres" (the server itself) or "pgbouncer" (a PgBouncer in
# transaction mode, as docker-compose.yml runs it). Under transaction pooling each transaction may
# run on a different server connection, so nothing may outlive one: no server-side cursors outside
# a transaction (Django's .iterator() opens them), no prepared statements (psycopg prepares a query
# run 5 times on a connection; PgBouncer before 1.21 cannot track them), and no `options` startup
# parameter (PgBouncer refuses it: the pooler's connect_query sets statement_timeout instead).
DATABASE_POOLER = env_str("DATABASE_POOLER", "postgres")
if DATABASE_POOLER not in ("postgres", "pgbouncer"):
    raise ImproperlyConfigured(f"DATABASE_POOLER: {DATABASE_POOLER!r} is neither 'postgres' nor 'pgbouncer'")

_database: dict[str, Any] = dict(
    dj_database_url.parse(env_str("DATABASE_URL", "postgres://postgres@localhost:5432/tweethub"))
)
_database["CONN_MAX_AGE"] = 0
# The pool checks an idle connection (an empty query) before handing it out: after a Postgres
# restart, a dead one is replaced instead of failing the request it would have served.
_database["CONN_HEALTH_CHECKS"] = True
_database["OPTIONS"] = {
    **_database.get("OPTIONS", {}),
    # A dead Postgres must fail a request in seconds (503), not hold it until a proxy gives up.
    "pool": {
        "min_size": min(DB_POOL_MIN_SIZE, DB_POOL_MAX_SIZE),
        "max_size": DB_POOL_MAX_SIZE,
        "timeout": DB_POOL_TIMEOUT_SECONDS,
        # Restart and outage handling: drain on a dead connection, give up a failed connection at
        # once and shorten the wait to DB_DOWN_TIMEOUT_SECONDS until one is made (tweethub.dbpool).
        "connection_class": PooledConnection,
        "reconnect_timeout": 0.0,
        "reconnect_failed": shorten_waits_while_unreachable(DB_DOWN_TIMEOUT_SECONDS),
    },
    "connect_timeout": 3,
    "options": f"-c statement_timeout={DB_STATEMENT_TIMEOUT_MS}",
}
if DATABASE_POOLER == "pgbouncer":
    del _database["OPTIONS"]["options"]
    _database["OPTIONS"]["prepare_threshold"] = None
    _database["DISABLE_SERVER_SIDE_CURSORS"] = True
DATABASES = {"default": _database}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: rebuildable state only (feeds, counters, cache, broker, channel layer) ---------------

# Each role has its own URL so production can split them over separate Redis servers; all default
# to REDIS_URL. A role's data may be lost at any time without losing user data.
REDIS_URL = env_str("REDIS_URL", "redis://127.0.0.1:6379/0")
FEEDS_REDIS_URL = env_str("FEEDS_REDIS_URL", REDIS_URL)
# Where home feeds (tl:/tlb:/tlr:/tlq: keys, the fan-out's writes) live: one or more Redis servers,
# comma separated (client-side sharding by the {user} hash slot), or with FEEDS_REDIS_CLUSTER on, the
# seed node of a Redis/Valkey Cluster. Empty (the default): the one FEEDS_REDIS_URL server, as before,
# read when used, so overriding FEEDS_REDIS_URL alone (tests, a shell) moves the feeds too.
FEEDS_REDIS_URLS = env_list("FEEDS_REDIS_URLS", [])
# FEEDS_REDIS_URLS names a Redis Cluster (redis.cluster.RedisCluster) instead of plain shards.
FEEDS_REDIS_CLUSTER = env_bool("FEEDS_REDIS_CLUSTER", default=False)
CACHE_REDIS_URL = env_str("CACHE_REDIS_URL", REDIS_URL)
CHANNELS_REDIS_URL = env_str("CHANNELS_REDIS_URL", REDIS_URL)
CELERY_BROKER_URL = celery_broker_url(env_str("CELERY_BROKER_URL", REDIS_URL))
# Seconds a Redis call may take before it counts as a failure (health checks, feed reads fall
# back to Postgres instead of hanging).
REDIS_SOCKET_TIMEOUT = env_float("REDIS_SOCKET_TIMEOUT", default=2.0)

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": CACHE_REDIS_URL,
        "KEY_PREFIX": "cache",
        "OPTIONS": {
            "socket_timeout": REDIS_SOCKET_TIMEOUT,
            "socket_connect_timeout": REDIS_SOCKET_TIMEOUT,
        },
    }
}

# Sessions are read on every request: served from a copy in the cache Redis (read in one round trip
# with the user's cached row, accounts.authcache), kept in Postgres, so flushing Redis logs nobody
# out, and with Redis down they are served from Postgres.
SESSION_ENGINE = "accounts.sessions"

# Live events go through channels-redis (tweethub.channel_layer): each web process has one inbox
# (a sorted set) that all its sockets share, and an event is one message per process holding a
# recipient. LIVE_INBOX_CAPACITY: messages a process's inbox holds before senders find it full (a
# burst of events while the process is busy; a send to a full inbox records the channels it missed,
# told to catch up at the next sweep). LIVE_SOCKET_BUFFER: messages kept per socket inside the process
# while the socket is slow to take them (channels-redis drops the oldest past it). LIVE_MESSAGE_EXPIRY:
# seconds a message waits in an inbox before it is dropped (a process that long behind is stuck).
LIVE_INBOX_CAPACITY = env_int("LIVE_INBOX_CAPACITY", default=10_000, minimum=1)
LIVE_SOCKET_BUFFER = env_int("LIVE_SOCKET_BUFFER", default=1_000, minimum=1)
LIVE_MESSAGE_EXPIRY = env_int("LIVE_MESSAGE_EXPIRY", default=60, minimum=1)
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "tweethub.channel_layer.RoutedRedisChannelLayer",
        "CONFIG": {
            "hosts": [CHANNELS_REDIS_URL],
            "prefix": "live:",
            "capacity": LIVE_SOCKET_BUFFER,
            "channel_capacity": {"specific.*": LIVE_INBOX_CAPACITY},
            "expiry": LIVE_MESSAGE_EXPIRY,
        },
    }
}

# Seconds between each web process's sweep of its websockets: sessions re-checked (an expired one's
# sockets close within this) and presence checked, written back after Redis lost it. One Redis round
# trip per process, plus one per 500 open sockets.
LIVE_SWEEP_SECONDS = max(1.0, env_float("LIVE_SWEEP_SECONDS", default=15.0))

# --- Celery -------------------------------------------------------------------------------------

# Five queues, a worker per group of them (Procfile): tweethub.queues says what goes where and why.
# Every worker started without -Q (tests, a one-process dev setup) consumes all five.
CELERY_TASK_DEFAULT_QUEUE = queues.DEFAULT
CELERY_TASK_QUEUES = tuple(Queue(name, Exchange(name, type="direct"), routing_key=name) for name in queues.NAMES)
CELERY_TASK_CREATE_MISSING_QUEUES = False  # a route to a queue no worker consumes is a bug: fail loudly
# The fan-out router first (small or large audience, by the author's follower count), then by name.
CELERY_TASK_ROUTES = ["timelines.routing.route", {name: {"queue": queue} for name, queue in queues.ROUTES.items()}]
# Feed and author-list rebuilds started per second over all workers together (a sliding window in
# the counters Redis, tweethub.ratelimit; empty: no limit). After a Redis flush every reader's next
# page queues one: unbounded, they take the CPU and Postgres time new tweets' fan-outs need. A
# rebuild worker over the limit waits (its own queue only); readers get SQL pages meanwhile
# (timelines.pacing says why not Celery's rate_limit).
REBUILD_RATE_LIMIT = env_str("REBUILD_RATE_LIMIT", "100/s")
CELERY_TASK_ACKS_LATE = True  # a task is acknowledged after it ran: a killed worker's task reruns
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1  # long fan-outs must not sit behind another in one prefetch
CELERY_TASK_IGNORE_RESULT = True  # tasks write their outcome to Postgres; no result backend
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Publishing a task gives up after ~0.5 s when the broker is down: the request that committed
# the change must not hang on it, and the outbox (tweethub.outbox) sends the task later anyway.
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.3}
CELERY_BROKER_TRANSPORT_OPTIONS = {
    # Seconds before an unacknowledged task goes to another worker (must exceed the longest task).
    # Production must keep it above the longest task (a large fan-out), or a task still running is
    # handed to a second worker. The minimum is low only so the fault tests (tests/faults) can see a
    # killed worker's task come back within a test run.
    "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", default=3600, minimum=5),
    "socket_timeout": REDIS_SOCKET_TIMEOUT,
    "socket_connect_timeout": REDIS_SOCKET_TIMEOUT,
}
CELERY_TIMEZONE = "UTC"
# Seconds between worker heartbeats written to Postgres (the admin panel's "workers online").
WORKER_HEARTBEAT_SECONDS = env_int("WORKER_HEARTBEAT_SECONDS", default=30, minimum=1)
# Seconds between sweeps that drop the Redis feeds of users who became inactive.
FEED_SWEEP_SECONDS = env_int("FEED_SWEEP_SECONDS", default=3600, minimum=10)
# Seconds between runs of the outbox relay (tweethub.outbox), which sends the tasks the broker
# refused when their change committed. Bounds how long after the broker's return their work starts.
OUTBOX_RELAY_SECONDS = env_int("OUTBOX_RELAY_SECONDS", default=10, minimum=1)
# Outbox rows younger than this are left to their own after-commit send, not doubled by the relay.
OUTBOX_GRACE_SECONDS = env_int("OUTBOX_GRACE_SECONDS", default=10, minimum=0)
# Seconds between full rebuilds of the Redis GEO index from Postgres (beat). A lost index is rebuilt
# on the next read anyway; this bounds how long a write Redis missed can stay out of it.
GEO_REBUILD_SECONDS = env_int("GEO_REBUILD_SECONDS", default=3600, minimum=60)
# When the nightly demo purge runs (UTC, "HH:MM"); it is scheduled only with DEMO_MODE on.
PURGE_DEMO_AT = env_str("PURGE_DEMO_AT", "03:30")
CELERY_BEAT_SCHEDULE: dict[str, dict[str, Any]] = {
    "worker-heartbeat": {
        "task": "adminpanel.tasks.heartbeat_task",
        "schedule": float(WORKER_HEARTBEAT_SECONDS),
    },
    "drop-inactive-feeds": {
        "task": "timelines.tasks.drop_inactive_feeds_task",
        "schedule": float(FEED_SWEEP_SECONDS),
    },
    "outbox-relay": {
        "task": "tweethub.tasks.outbox_relay_task",
        "schedule": float(OUTBOX_RELAY_SECONDS),
        # A relay that waited in the queue longer than a period is superseded by the next one.
        "options": {"expires": float(OUTBOX_RELAY_SECONDS)},
    },
    "flush-last-active": {
        "task": "accounts.tasks.last_active_flush_task",
        "schedule": float(LAST_ACTIVE_FLUSH_SECONDS),
        "options": {"expires": float(LAST_ACTIVE_FLUSH_SECONDS)},
    },
    "fold-follower-counts": {
        "task": "accounts.tasks.follower_shards_fold_task",
        "schedule": float(FOLLOWER_COUNT_FOLD_SECONDS),
        "options": {"expires": float(FOLLOWER_COUNT_FOLD_SECONDS)},
    },
    "rebuild-geo-index": {
        "task": "accounts.tasks.geo_index_rebuild_task",
        "schedule": float(GEO_REBUILD_SECONDS),
    },
}
if DEMO_MODE:
    from celery.schedules import crontab

    _purge_hour, _purge_minute = (int(part) for part in PURGE_DEMO_AT.split(":"))
    CELERY_BEAT_SCHEDULE["purge-demo-data"] = {
        "task": "adminpanel.tasks.purge_demo_data_task",
        "schedule": crontab(hour=_purge_hour, minute=_purge_minute),
    }
