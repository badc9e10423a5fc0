"""Fixtures: real Postgres (pytest-django's test database) and real Redis flushed per test."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from devstack.servers import Redis
from tweethub.redis import client_for, feed_shards, feeds


def _redis_urls() -> list[str]:
    return list(dict.fromkeys([settings.FEEDS_REDIS_URL, settings.CACHE_REDIS_URL, settings.CHANNELS_REDIS_URL]))


@pytest.fixture(scope="session", autouse=True)
def _redis_is_ours() -> None:
    """Tests flush Redis between tests: refuse to run against a Redis we were not given to wipe."""
    if os.environ.get("DEVSTACK_REDIS_OWNED") != "test" and os.environ.get("ALLOW_TEST_REDIS_FLUSH") != "1":
        pytest.exit(
            "Tests flush Redis. Run them through `make test` (a throwaway server), or set "
            "ALLOW_TEST_REDIS_FLUSH=1 to let them wipe the Redis at REDIS_URL.",
            returncode=2,
        )


@pytest.fixture(autouse=True)
def _capture_mail_for_real(settings: Any) -> None:
    """Django's test setup swaps EMAIL_BACKEND for its in-memory outbox; put ours back so every
    test sends mail exactly as the site does (stored by mailcatcher, in the caller's transaction)."""
    settings.EMAIL_BACKEND = "mailcatcher.backends.CapturingEmailBackend"


@pytest.fixture(autouse=True)
def _media_in_tmp(settings: Any, tmp_path: Path) -> None:
    """Uploads go to a per-test folder, never into the checkout."""
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def _clean_redis() -> None:
    """Every test starts with empty feeds, cache, broker queues and channel layer."""
    for url in _redis_urls():
        client_for(url).flushdb()
    flush_feed_shards()


def flush_feeds() -> None:
    """What losing the feeds' Redis does: the feeds server and every feed shard emptied."""
    feeds().flushall()
    flush_feed_shards()


def feeds_apart() -> bool:
    """True when home feeds live on servers of their own (the shards and cluster topologies that
    `make test` also runs the feed tests on): a home page read is then two round trips, the feed's
    server and the feeds server, instead of one."""
    urls = list(settings.FEEDS_REDIS_URLS)
    return bool(settings.FEEDS_REDIS_CLUSTER) or bool(urls and urls != [settings.FEEDS_REDIS_URL])


def flush_feed_shards() -> None:
    """Empty the servers home feeds live on (the same server as the rest unless the topology under
    test shards them or puts them on a cluster: FEEDS_REDIS_URLS, FEEDS_REDIS_CLUSTER)."""
    for server in feed_shards().nodes():
        server.flushdb()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Fast tests first, browser tests last: quicker feedback, and Playwright's event loop never
    shares the main thread with tests that run their own."""
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)


@pytest.fixture
def celery_worker(transactional_db: None) -> Iterator[object]:
    """A real Celery worker (in a thread of this process) consuming from the real Redis broker.

    Tasks it runs use this process's settings, so they write to the test database. It implies
    `transactional_db`: the worker's own connection only sees committed rows (and starting a worker
    closes this thread's connection, which an open test transaction would not survive).
    """
    from celery.contrib.testing.worker import start_worker

    from tweethub.celery import app

    with start_worker(
        app,
        pool="solo",
        concurrency=1,
        perform_ping_check=False,
        loglevel="WARNING",
        hostname="test-worker@localhost",
        shutdown_timeout=30,
    ) as worker:
        yield worker


@pytest.fixture
def eager_tasks() -> Iterator[None]:
    """Run Celery tasks synchronously when queued (on commit), so a test step has settled before
    it is checked. The task code is the real one; only the transport is skipped. Tests of the
    transport itself use `celery_worker` instead."""
    from tweethub.celery import app

    saved = (app.conf.task_always_eager, app.conf.task_eager_propagates)
    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = saved


@pytest.fixture
def doomed_redis(tmp_path: Path) -> Iterator[Redis]:
    """A real Redis server of our own that the test can stop and start again (same socket)."""
    server = Redis(
        name="doomed-redis",
        log_path=tmp_path / "redis.log",
        data_dir=tmp_path,
        socket_path=tmp_path / "r.sock",
        persist=False,
    )
    server.start()
    yield server
    server.stop()


class RedisRoundTrips:
    """Counts round trips to Redis made by this process (each `send_packed_command`: one command,
    one pipeline or one script call), with the first word of each for the failure message."""

    def __init__(self) -> None:
        self.sent: list[str] = []

    @property
    def count(self) -> int:
        return len(self.sent)

    def clear(self) -> None:
        self.sent.clear()


@pytest.fixture
def redis_round_trips(monkeypatch: pytest.MonkeyPatch) -> RedisRoundTrips:
    """Count Redis round trips, as pages are pinned by them (like django_assert_num_queries for SQL).

    It wraps redis-py's Connection.send_packed_command (a library seam, not our code): every command,
    pipeline or script call goes through it exactly once. A new connection's handshake (HELLO,
    CLIENT SETINFO) counts too, so warm the page up once before counting.
    """
    import redis.connection

    from bench.counting import command_name

    counter = RedisRoundTrips()
    original: Any = redis.connection.AbstractConnection.send_packed_command

    def counting(self: Any, command: Any, check_health: bool = True) -> None:
        counter.sent.append(command_name(command))
        original(self, command, check_health)

    monkeypatch.setattr(redis.connection.AbstractConnection, "send_packed_command", counting)
    return counter
