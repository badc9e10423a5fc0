"""Section "http": the logged-in home page under concurrent load, beside a trivial view (/livez) on
the same server and middleware, for each ASGI server that fits; keeps the fastest one that also
serves our websockets.

Also home to what the realtime section shares: starting a server (or a Celery worker) as a real
subprocess on the database and Redis of this process, bench users with sessions, process RSS.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.auth.hashers import make_password
from django.contrib.sessions.backends.base import VALID_KEY_CHARS
from django.contrib.sessions.backends.cached_db import SessionStore
from django.contrib.sessions.models import Session
from django.db import connection, transaction
from django.utils import timezone
from django.utils.crypto import get_random_string

from accounts.models import User
from bench.core import Context, Figure
from bench.load import LoadResult, fetch, load, run_async
from follows.models import Follow
from timelines.services import feeds_bulk_build
from tweethub.env import database_url_of
from tweets.models import Tweet

SECTION = "http"
HOST = "127.0.0.1"
APP = "tweethub.asgi:application"
ROOT = Path(__file__).resolve().parents[1]
WORKERS = 2  # one per core on these machines
READER = "bench_http_0"  # the logged-in reader of the home page
AUTHORS = 60  # accounts the reader follows (bench_http_1 ... bench_http_60)
TWEETS_PER_AUTHOR = 2

# How each server is started: all serve the same ASGI app with access logs off. Granian's "asginl"
# is ASGI without the lifespan protocol, which Django's handler does not speak.
COMMANDS: dict[str, list[str]] = {
    "uvicorn": ["-m", "uvicorn", APP, "--host", HOST, "--port", "{port}", "--workers", str(WORKERS),
                "--lifespan", "off", "--no-access-log", "--log-level", "warning"],
    "granian": ["-m", "granian", "--interface", "asginl", "--host", HOST, "--port", "{port}",
                "--workers", str(WORKERS), "--no-access-log", "--log-level", "warning", APP],
    "daphne": ["-m", "daphne", "-b", HOST, "-p", "{port}", "-v", "0", APP],
    "gunicorn": ["-m", "gunicorn", "-k", "uvicorn_worker.UvicornWorker", "-w", str(WORKERS),
                 "-b", f"{HOST}:{{port}}", "--log-level", "warning", APP],
}  # fmt: skip
PROCESSES = {"uvicorn": f"{WORKERS} workers", "granian": f"{WORKERS} workers", "daphne": "1 process",
             "gunicorn": f"{WORKERS} uvicorn workers"}  # fmt: skip

# The server the http section found fastest among those serving websockets, for the realtime
# section of the same run (None until the http section ran).
fastest_server: str | None = None


class ServerFailed(RuntimeError):
    """A server (or worker) did not start or did not serve what it must."""


# --- Processes ------------------------------------------------------------------------------------


def database_url() -> str:
    """DATABASE_URL of the database this process uses (under pytest: the test database)."""
    return database_url_of(connection.settings_dict)


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    return {**os.environ, "DATABASE_URL": database_url(), "DEBUG": "0", **(extra or {})}


def _parents() -> dict[int, int]:
    found = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            # Field 4 (ppid) follows the command name, which may itself contain spaces or ")".
            found[int(entry)] = int(stat.rsplit(")", 1)[1].split()[1])
    return found


def process_tree(root: int) -> list[int]:
    parents = _parents()
    tree, frontier = [root], [root]
    while frontier:
        frontier = [pid for pid, parent in parents.items() if parent in frontier]
        tree += frontier
    return tree


def _status_kib(pid: int, field: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _pss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


@dataclass(frozen=True)
class Memory:
    processes: int
    rss_mib: float  # sum of VmRSS: counts pages shared by forked processes once per process
    pss_mib: float  # sum of proportional set sizes: shared pages split between sharers

    @classmethod
    def of_tree(cls, root: int) -> Memory:
        pids = process_tree(root)
        return cls(
            processes=len(pids),
            rss_mib=sum(_status_kib(pid, "VmRSS") for pid in pids) / 1024,
            pss_mib=sum(_pss_kib(pid) for pid in pids) / 1024,
        )


@dataclass
class Process:
    name: str
    process: subprocess.Popen[bytes]
    log: Path

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def memory(self) -> Memory:
        return Memory.of_tree(self.process.pid)

    def log_size(self) -> int:
        return self.log.stat().st_size

    def log_since(self, offset: int) -> bytes:
        return self.log.read_bytes()[offset:]

    def stop(self) -> None:
        """Stop the process and everything it started (its own process group)."""
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(15)
        # Workers outlive a supervisor that died first: the group goes down in any case.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(5)


def _spawn(name: str, args: list[str], env: dict[str, str]) -> Process:
    log = Path(tempfile.mkdtemp(prefix=f"bench-{name}-")) / f"{name}.log"
    with log.open("wb") as out:
        # Own session and process group: stop() ends the whole tree and nothing else.
        process = subprocess.Popen(
            [sys.executable, *args], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    return Process(name=name, process=process, log=log)


@dataclass
class Server(Process):
    port: int = 0

    @property
    def origin(self) -> str:
        return f"http://{HOST}:{self.port}"


def _port_is_free(port: int) -> bool:
    import socket

    with socket.socket() as sock:
        return sock.connect_ex((HOST, port)) != 0


@contextlib.contextmanager
def running_server(name: str, port: int, *, env: dict[str, str] | None = None) -> Iterator[Server]:
    """The ASGI server `name` on HOST:port, answering /livez; stopped (whole tree) on exit."""
    if name not in COMMANDS:
        raise ServerFailed(f"unknown server {name!r} (known: {', '.join(COMMANDS)})")
    if not _port_is_free(port):
        raise ServerFailed(f"port {port} is already in use")
    args = [arg.replace("{port}", str(port)) for arg in COMMANDS[name]]
    started = _spawn(name, args, child_env(env))
    server = Server(name=name, process=started.process, log=started.log, port=port)
    try:
        deadline = time.monotonic() + 60
        while True:
            if server.process.poll() is not None:
                raise ServerFailed(f"{name} exited with {server.process.returncode}:\n{server.log_tail()}")
            if time.monotonic() > deadline:
                raise ServerFailed(f"{name} did not answer /livez within 60 s:\n{server.log_tail()}")
            try:
                if run_async(fetch(HOST, port, "GET", "/livez")).status == 200:
                    break
            except OSError:
                pass
            time.sleep(0.1)
        yield server
    finally:
        server.stop()


@contextlib.contextmanager
def running_worker(*, concurrency: int = 2) -> Iterator[Process]:
    """A real Celery worker (prefork, as production runs it) on this process's database and broker."""
    worker = _spawn(
        "worker",
        ["-m", "celery", "-A", "tweethub", "worker", "--pool", "prefork", "--concurrency", str(concurrency),
         "--loglevel", "INFO", "--hostname", f"bench-worker-{os.getpid()}@%h", "--without-mingle",
         "--without-gossip"],
        child_env(),
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while b"ready." not in worker.log.read_bytes():
            if worker.process.poll() is not None or time.monotonic() > deadline:
                raise ServerFailed(f"the Celery worker did not start:\n{worker.log_tail()}")
            time.sleep(0.1)
        yield worker
    finally:
        worker.stop()


# --- Bench users ----------------------------------------------------------------------------------


def ensure_users(usernames: Sequence[str]) -> list[User]:
    """Verified, active users with these names (created if missing; reruns reuse them), in order."""
    now = timezone.now()
    unusable = make_password(None)  # they log in by session (session_cookies), never by password
    User.objects.bulk_create(
        [User(username=name, name=name, email=f"{name}@bench.invalid", password=unusable, verified_at=now,
              last_active=now) for name in usernames],
        ignore_conflicts=True,
        batch_size=1000,
    )  # fmt: skip
    users = {user.username: user for user in User.objects.filter(username__in=usernames)}
    User.objects.filter(pk__in=[user.pk for user in users.values()]).update(last_active=now, verified_at=now)
    return [users[name] for name in usernames]


def ensure_follows(pairs: Sequence[tuple[int, int]]) -> None:
    """follower -> followee rows (existing ones kept), with exact counters for everyone involved."""
    Follow.objects.bulk_create(
        [Follow(follower_id=follower, followee_id=followee) for follower, followee in pairs],
        ignore_conflicts=True,
        batch_size=5000,
    )
    users = sorted({user for pair in pairs for user in pair})
    recount_stats(users)


def recount_stats(user_ids: Sequence[int]) -> None:
    """Exact followers / following / tweets counters (a bulk load bypasses the services that keep
    them); the fan-out mode is left as it is."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO accounts_userstats (user_id, followers, following, tweets, fanout_mode)
            SELECT u.id,
                   (SELECT count(*) FROM follows_follow f WHERE f.followee_id = u.id),
                   (SELECT count(*) FROM follows_follow f WHERE f.follower_id = u.id),
                   (SELECT count(*) FROM tweets_tweet t WHERE t.author_id = u.id),
                   'push'
            FROM unnest(%s::bigint[]) AS u(id)
            ON CONFLICT (user_id) DO UPDATE SET followers = EXCLUDED.followers,
                following = EXCLUDED.following, tweets = EXCLUDED.tweets
            """,
            [list(user_ids)],
        )


def session_cookies(users: Sequence[User]) -> dict[int, str]:
    """A logged-in session per user, as login() would store it, written in bulk (1,000 logins one
    by one would take longer than the measurement). user id -> Cookie header value."""
    store = SessionStore()
    expires = timezone.now() + timedelta(seconds=settings.SESSION_COOKIE_AGE)
    backend = settings.AUTHENTICATION_BACKENDS[0]
    keys = {user.pk: get_random_string(32, VALID_KEY_CHARS) for user in users}
    rows = []
    for user in users:
        data = {SESSION_KEY: str(user.pk), BACKEND_SESSION_KEY: backend}
        data[HASH_SESSION_KEY] = user.get_session_auth_hash()
        rows.append(Session(session_key=keys[user.pk], session_data=store.encode(data), expire_date=expires))
    Session.objects.bulk_create(rows, batch_size=1000)
    return {user_id: f"{settings.SESSION_COOKIE_NAME}={key}" for user_id, key in keys.items()}


def prepare_home_reader() -> User:
    """A reader following AUTHORS accounts with tweets, whose feed is built: the home page then
    shows a full page of tweets from the feed, the path a returning member takes."""
    with transaction.atomic():
        reader, *authors = ensure_users([f"bench_http_{n}" for n in range(AUTHORS + 1)])
        have = set(Tweet.objects.filter(author__in=authors).values_list("author_id", flat=True).distinct())
        Tweet.objects.bulk_create(
            [
                Tweet(author=author, text=f"Benchmark tweet {n} by @{author.username} #bench")
                for author in authors
                if author.pk not in have
                for n in range(TWEETS_PER_AUTHOR)
            ]
        )
        ensure_follows([(reader.pk, author.pk) for author in authors])
    feeds_bulk_build(user_ids=[reader.pk])
    return reader


TWEET_MARKUP = re.compile(rb'<article class="tweet[" ]')


def check_home_page(port: int, cookie: str) -> str:
    """The logged-in home page must be a full page of tweets served from the feed (a benchmark of
    a redirect or an empty page would be worthless). Returns what was seen; raises if wrong."""
    response = run_async(fetch(HOST, port, "GET", "/", headers={"Cookie": cookie}))
    tweets = len(TWEET_MARKUP.findall(response.body))
    source = re.search(rb'data-source="([a-z+]+)"', response.body)
    seen = f"status {response.status}, {tweets} tweets, source {source.group(1).decode() if source else '?'}"
    if response.status != 200 or tweets != settings.TIMELINE_PAGE_SIZE:
        raise ServerFailed(f"home page is not a full timeline: {seen}")
    return seen


async def _websocket_round_trip(port: int, cookie: str) -> str:
    from websockets.asyncio.client import connect
    from websockets.typing import Origin

    url, origin = f"ws://{HOST}:{port}/ws/", Origin(f"http://{HOST}:{port}")
    async with connect(url, additional_headers={"Cookie": cookie}, origin=origin, open_timeout=10) as socket:
        await socket.send(json.dumps({"type": "catch_up", "after": 0}))
        async with asyncio.timeout(10):
            reply = json.loads(await socket.recv())
    if reply.get("event") != "tweet.catch_up" or not reply["payload"]["tweets"]:
        raise ServerFailed(f"unexpected websocket reply: {str(reply)[:200]}")
    return f"catch_up answered with {len(reply['payload']['tweets'])} tweets"


def check_websocket(port: int, cookie: str) -> tuple[bool, str]:
    """Does the server serve /ws/ end to end (handshake, auth by cookie, a message each way)?"""
    try:
        return True, run_async(_websocket_round_trip(port, cookie))
    except Exception as error:  # any failure means "cannot keep this server": report why
        return False, f"{type(error).__name__}: {error}"


# --- The section ----------------------------------------------------------------------------------


@dataclass
class Measured:
    server: str
    livez: LoadResult
    home: LoadResult
    websocket: bool
    websocket_detail: str
    page: str
    server_errors: int  # exceptions the server logged during the run


def _measure(ctx: Context, name: str, cookie: str) -> Measured:
    scale = ctx.scale
    with running_server(name, ctx.port) as server:
        page = check_home_page(server.port, cookie)
        websocket, detail = check_websocket(server.port, cookie)
        ctx.say(f"http: {name} up ({page}; websocket: {detail})")
        connections, seconds = scale.http_connections, scale.http_seconds
        # The first seconds of a fresh server include imports and pool connections: warm-up.
        livez = load(port=server.port, path="/livez", connections=connections, seconds=seconds, warmup=2.0)
        ctx.say(f"http: {name} /livez {livez.rps:.0f} req/s, p99 {livez.p99_ms:.1f} ms")
        home = load(port=server.port, path="/", headers={"Cookie": cookie}, connections=connections,
                    seconds=seconds, warmup=1.0)  # fmt: skip
        ctx.say(f"http: {name} home {home.rps:.0f} req/s, p99 {home.p99_ms:.1f} ms")
        if home.non_2xx or livez.non_2xx:
            ctx.say(f"http: {name} non-2xx answers: home {dict(home.statuses)}, livez {dict(livez.statuses)}")
        errors = server.log_since(0).count(b"Traceback (most recent call last)")
    return Measured(name, livez, home, websocket, detail, page, errors)


def _notes(m: Measured, ctx: Context) -> str:
    problems = []
    for label, result in (("home", m.home), ("livez", m.livez)):
        if result.non_2xx or result.errors:
            problems.append(f"{label}: {result.non_2xx} non-2xx {dict(result.statuses)}, {result.errors} errors")
    if m.server_errors:
        problems.append(f"the server logged {m.server_errors} exceptions")
    return (
        f"{PROCESSES[m.server]}; {ctx.scale.http_connections} keep-alive connections for "
        f"{ctx.scale.http_seconds:g} s per view from a raw-asyncio client that shares the 2 cores with the server"
        " (req/s are lower than a client on another machine would see: compare ratios)"
        + (f"; websocket: {m.websocket_detail}" if not m.websocket else "")
        + (f"; PROBLEMS: {'; '.join(problems)}" if problems else "")
    )


def _figures(m: Measured, ctx: Context) -> list[Figure]:
    extra = {
        "server": m.server,
        "websocket": m.websocket,
        "home_page": m.page,
        "server_errors": m.server_errors,
        "home": {"requests": m.home.requests, "p50_ms": m.home.p50_ms, "non_2xx": m.home.non_2xx,
                 "errors": m.home.errors},
        "livez": {"requests": m.livez.requests, "p50_ms": m.livez.p50_ms, "non_2xx": m.livez.non_2xx,
                  "errors": m.livez.errors},
    }  # fmt: skip
    notes = _notes(m, ctx)
    return [
        Figure(
            SECTION,
            f"{m.server}: logged-in home page throughput",
            round(m.home.rps, 1),
            "req/s",
            baseline=round(m.livez.rps, 1),
            baseline_name="/livez (trivial view, anonymous: no Postgres or Redis) on the same server and middleware",
            target=">= 50% of the trivial view's req/s",
            met=m.home.rps >= 0.5 * m.livez.rps,
            notes=notes,
            extra=extra,
        ),
        Figure(
            SECTION,
            f"{m.server}: logged-in home page p99",
            round(m.home.p99_ms, 2),
            "ms",
            baseline=round(m.livez.p99_ms, 2),
            baseline_name="/livez p99, same server and load",
            notes=notes,
            extra={"server": m.server, "p50_ms": m.home.p50_ms},
        ),
        Figure(
            SECTION,
            f"{m.server}: /livez p99",
            round(m.livez.p99_ms, 2),
            "ms",
            baseline=round(m.livez.p50_ms, 2),
            baseline_name="/livez p50 (the p99/p50 ratio shows queueing)",
            notes=notes,
            extra={"server": m.server, "rps": m.livez.rps},
        ),
    ]


def run(ctx: Context) -> list[Figure]:
    global fastest_server
    reader = prepare_home_reader()
    cookie = session_cookies([reader])[reader.pk]
    measured: list[Measured] = []
    failed: dict[str, str] = {}
    figures: list[Figure] = []
    for name in ctx.servers:
        ctx.say(f"http: {name}: starting ({PROCESSES.get(name, '?')})")
        try:
            result = _measure(ctx, name, cookie)
        except ServerFailed as error:
            failed[name] = str(error).splitlines()[0]
            ctx.say(f"http: {name} FAILED: {error}")
            continue
        measured.append(result)
        figures += _figures(result, ctx)
    capable = [m for m in measured if m.websocket and not m.home.non_2xx]
    if not capable:
        raise ServerFailed(f"no server served the home page and websockets: {failed or 'see the figures'}")
    best = max(capable, key=lambda m: m.home.rps)
    fastest_server = best.server
    reference = next((m for m in measured if m.server == "uvicorn"), None)
    ranking = sorted(measured, key=lambda m: m.home.rps, reverse=True)
    figures.append(
        Figure(
            SECTION,
            "fastest ASGI server serving websockets too: home page throughput",
            round(best.home.rps, 1),
            "req/s",
            baseline=round(reference.home.rps, 1) if reference else None,
            baseline_name="uvicorn (2 workers), the reference ASGI server" if reference else "",
            notes=f"kept: {best.server}; ranking by home req/s: "
            + ", ".join(f"{m.server} {m.home.rps:.0f}{'' if m.websocket else ' (no websockets)'}" for m in ranking)
            + (f"; failed to run: {failed}" if failed else ""),
            extra={"server": best.server, "failed": failed},
        )
    )
    return figures
