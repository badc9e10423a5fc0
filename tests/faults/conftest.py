"""Fault injection on real processes (issue 9): a uvicorn web process and Celery workers started as
subprocesses, exactly as production runs them, on pytest-django's test database and on a Redis
server of the test's own that the test may flush, stop and start again empty.

Tests here use committed data (transactional_db): the processes only see what was committed.
The test process itself reads and writes the same Redis (`on_fault_redis`), so it can look at feeds
with the store's helpers and post tweets through the services the way the web process does.
Each test writes a short JSON summary of what it injected and saw to tests/artifacts/faults/.
"""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import redis
from django.db import connection

from devstack.servers import Redis
from tests.factories import PASSWORD
from tweethub.celery import app as celery_app
from tweethub.celery import queue_depth
from tweethub.env import celery_broker_url, database_url_of
from tweethub.redis import client_for

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts" / "faults"
TWEET_ID = re.compile(r'data-tweet-id="(\d+)"')
OLDER_LINK = re.compile(r'href="\?before=(\d+)"')


def wait_for(predicate: Callable[[], bool], *, timeout: float, what: str, interval: float = 0.05) -> None:
    """Poll until `predicate()` holds; fail naming `what` after `timeout` seconds. Waiting on a
    condition (never a fixed sleep) keeps these tests steady on a busy machine."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def write_summary(name: str, summary: dict[str, Any]) -> Path:
    """The figures of one fault test, for the lead's notes (tests/artifacts/ is git-ignored)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.json"
    path.write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")
    print(f"\n{name}: {json.dumps(summary, sort_keys=True)}")  # noqa: T201 - shown with -s / on failure
    return path


# --- The test's own Redis -------------------------------------------------------------------------


@pytest.fixture
def fault_redis() -> Iterator[Redis]:
    """A real Redis server the test may flush, stop, and start again empty on the same socket.

    Its folder is a short one under the temp dir: unix socket paths must stay under 108 bytes,
    which pytest's per-test folders (named after long test names) can exceed."""
    folder = Path(tempfile.mkdtemp(prefix="th-faults-"))
    server = Redis(
        name="fault-redis",
        log_path=folder / "redis.log",
        data_dir=folder,
        socket_path=folder / "r.sock",
        persist=False,  # no snapshots: a restart starts empty
    )
    server.start()
    yield server
    server.stop()
    shutil.rmtree(folder, ignore_errors=True)


def raw_client(server: Redis) -> redis.Redis:
    """A client of the test's own (not the app's pooled ones), for injecting faults and looking."""
    return redis.Redis(unix_socket_path=str(server.socket_path), socket_timeout=5)


def _point_celery_at(url: str) -> None:
    celery_app.conf["broker_url"] = url
    # Celery caches its connection and producer pools from the URL at first use (no public reset).
    celery_app._pool = None  # type: ignore[attr-defined]
    celery_app.amqp._producer_pool = None  # type: ignore[attr-defined]


@pytest.fixture
def on_fault_redis(fault_redis: Redis, settings: Any) -> Iterator[Redis]:
    """This test process on the test's Redis too, in every role: feeds, cache, live events and the
    Celery broker, so services called here (tweet_create, follow_create) and the store's helpers
    reach the same Redis as the web and worker processes."""
    url = fault_redis.url
    settings.FEEDS_REDIS_URL = settings.CACHE_REDIS_URL = settings.CHANNELS_REDIS_URL = url
    settings.CACHES = {**settings.CACHES, "default": {**settings.CACHES["default"], "LOCATION": url}}
    settings.RATE_LIMIT_TWEETS_PER_USER = "100000/1h"
    client_for.cache_clear()
    saved_broker, saved_eager = celery_app.conf.broker_url, celery_app.conf.task_always_eager
    _point_celery_at(celery_broker_url(url))
    celery_app.conf.task_always_eager = False
    yield fault_redis
    celery_app.conf.task_always_eager = saved_eager
    _point_celery_at(saved_broker)
    client_for.cache_clear()


# --- The web and worker processes ---------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


@dataclass
class Site:
    """One test's web and worker processes, all on the test database and the test's Redis."""

    env: dict[str, str]
    folder: Path
    port: int
    web: subprocess.Popen[bytes] | None = None
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)
    logs: dict[str, int] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _log(self, role: str) -> Path:
        self.logs[role] = self.logs.get(role, 0) + 1
        return self.folder / f"{role}-{self.logs[role]}.log"

    def _spawn(self, argv: list[str], log: Path, extra_env: dict[str, str]) -> subprocess.Popen[bytes]:
        with log.open("wb") as out:
            return subprocess.Popen(
                argv, cwd=ROOT, env={**self.env, **extra_env}, stdout=out, stderr=subprocess.STDOUT
            )

    def start_web(self) -> None:
        """uvicorn on this site's port (the same one after a restart), ready when /livez answers."""
        log = self._log("web")
        self.web = self._spawn(
            [sys.executable, "-m", "uvicorn", "tweethub.asgi:application", "--host", "127.0.0.1",
             "--port", str(self.port), "--lifespan", "off", "--timeout-graceful-shutdown", "5"],
            log, {},
        )  # fmt: skip
        web = self.web

        def live() -> bool:
            if web.poll() is not None:
                pytest.fail(f"web process exited:\n{_tail(log)}")
            try:
                with urllib.request.urlopen(self.url + "/livez", timeout=2) as response:  # noqa: S310 - our http URL
                    return bool(response.status == 200)
            except OSError:
                return False

        wait_for(live, timeout=60, what=f"the web process on port {self.port} ({log})")

    def stop_web(self, sig: int) -> None:
        assert self.web is not None
        self.web.send_signal(sig)
        self.web.wait(30)

    def start_worker(
        self,
        *,
        beat: bool = False,
        env: dict[str, str] | None = None,
        pool: str = "solo",
        include: tuple[str, ...] = (),
    ) -> subprocess.Popen[bytes]:
        """A Celery worker process (solo pool, as a container with one CPU would run it; "prefork"
        runs two children, as the Procfile does), with an embedded beat when asked (the outbox
        relay), the task modules in `include` imported too, and `env` added to the site's
        environment. Ready once it logs "ready."."""
        log = self._log("worker")
        n = self.logs["worker"]
        argv = [sys.executable, "-m", "celery", "-A", "tweethub", "worker", "--pool", pool,
                "--loglevel", "INFO", "--hostname", f"fault-worker-{n}@%h", "--without-mingle", "--without-gossip"]  # fmt: skip
        if pool == "prefork":
            argv += ["--concurrency", "2"]
        for module in include:
            argv += ["--include", module]
        if beat:
            argv += ["--beat", "--schedule", str(self.folder / "beat-schedule")]
        worker = self._spawn(argv, log, env or {})
        self.workers.append(worker)

        def ready() -> bool:
            if worker.poll() is not None:
                pytest.fail(f"worker exited:\n{_tail(log)}")
            return b"ready." in log.read_bytes()

        wait_for(ready, timeout=60, what=f"the worker to start ({log})")
        return worker

    def stop_all(self) -> None:
        running = [p for p in [self.web, *self.workers] if p is not None and p.poll() is None]
        for process in running:
            process.send_signal(signal.SIGTERM)
        for process in running:
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)


def site_environment(redis_server: Redis, folder: Path) -> dict[str, str]:
    """The environment of a site's processes: the test database (committed data only) and every
    Redis role on `redis_server`, DEBUG and demo mode off, uploads under `folder`."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"FEEDS_REDIS_URL", "CACHE_REDIS_URL", "CHANNELS_REDIS_URL", "CELERY_BROKER_URL"}
    }
    env.update(
        DATABASE_URL=database_url_of(connection.settings_dict),
        REDIS_URL=redis_server.url,
        DEBUG="0",
        # No nightly demo purge in a worker's embedded beat, whatever the time of day.
        DEMO_MODE="0",
        MEDIA_ROOT=str(folder / "media"),
        # Load from one address: the limits are not what these tests are about.
        RATE_LIMIT_TWEETS_PER_USER="100000/1h",
        RATE_LIMIT_LOGIN_PER_IP="100000/10m",
        RATE_LIMIT_LOGIN_PER_ACCOUNT="100000/10m",
    )
    return env


@pytest.fixture
def site(transactional_db: None, fault_redis: Redis, tmp_path: Path) -> Iterator[Site]:
    """Web and worker processes for this test (started by the test, stopped before the database is
    flushed). All of their Redis roles default to REDIS_URL: the test's own server."""
    running = Site(env=site_environment(fault_redis, tmp_path), folder=tmp_path, port=_free_port())
    yield running
    running.stop_all()


# --- A visitor over HTTP (urllib: no HTTP client library is installed) ---------------------------


@dataclass(frozen=True)
class Answer:
    status: int  # 0: no HTTP answer at all (connection refused or reset, timeout)
    body: str


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A POST's 302 is its answer: record it, do not follow it."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class Visitor:
    """One person's browser: a cookie jar (session, CSRF) and no automatic redirects."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({}),  # never through a proxy from the environment
            urllib.request.HTTPCookieProcessor(self.jar),
            _NoRedirect(),
        )

    def cookie(self, name: str) -> str:
        for cookie in self.jar:
            if cookie.name == name and cookie.value is not None:
                return cookie.value
        raise KeyError(name)

    def _open(self, request: urllib.request.Request) -> Answer:
        try:
            with self.opener.open(request, timeout=30) as response:
                return Answer(response.status, response.read().decode())
        except urllib.error.HTTPError as error:
            return Answer(error.code, error.read().decode(errors="replace"))
        except (urllib.error.URLError, OSError):
            return Answer(0, "")

    def get(self, path: str) -> Answer:
        return self._open(urllib.request.Request(self.base_url + path))  # noqa: S310 - our http:// URL

    def post(self, path: str, fields: dict[str, str]) -> Answer:
        fields = {"csrfmiddlewaretoken": self.cookie("csrftoken"), **fields}
        data = urllib.parse.urlencode(fields).encode()
        return self._open(urllib.request.Request(self.base_url + path, data=data, method="POST"))  # noqa: S310

    def log_in(self, username: str, password: str = PASSWORD) -> None:
        """Through the real login form: GET it (CSRF cookie), then POST the credentials."""
        assert self.get("/accounts/login/").status == 200
        answer = self.post("/accounts/login/", {"username": username, "password": password})
        assert answer.status == 302, answer.body[:500]


def tweet_ids_in(html: str) -> list[int]:
    return [int(found) for found in TWEET_ID.findall(html)]


def older_cursor_in(html: str) -> int | None:
    found = OLDER_LINK.search(html)
    return int(found.group(1)) if found else None


def broker_idle(client: redis.Redis) -> bool:
    """No task waiting in the queue and none delivered but unacknowledged (acks_late: a task
    being run stays in `unacked` until it finished)."""
    return queue_depth(client) == 0 and int(client.hlen("unacked")) == 0
