"""Section "realtime": from the POST of a tweet to its arrival on every follower's open websocket.

A real server (the fastest of the http section, else uvicorn) and a real Celery worker (prefork)
run as subprocesses; one asyncio client holds the followers' sockets and posts the tweets exactly
as the browser does (GET the page for the CSRF token, POST the compose form). Each delivery is
timed from just before the POST was written to the arrival of the matching `tweet.new` message,
so it covers the request, the commit, queueing, the fan-out task, the channel layer and the
socket. The baseline is the same measurement with one follower socket open (same author, same
feeds written): the ratio is the cost of the other sockets.

Also section "memory": web server and worker process-tree RSS with all sockets open.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from django.db import transaction
from django.utils.crypto import get_random_string

from accounts.models import User
from bench import http, servers
from bench.core import Context, Figure, percentile
from bench.data import ensure_follows, ensure_users, session_cookies
from bench.load import fetch, run_async
from bench.servers import HOST, Memory, Process, Server, ServerFailed
from timelines.services import feeds_bulk_build

SECTION = "realtime"
AUTHOR = "bench_rt_author"
SPACING_SECONDS = 0.5  # between two tweets
# After the last tweet, wait for deliveries still on their way until none arrived for QUIET_SECONDS
# (at most DRAIN_SECONDS): what is missing then was lost, not late.
QUIET_SECONDS = 5.0
DRAIN_SECONDS = 90.0
CONNECT_CONCURRENCY = 50  # websocket handshakes in flight at once
# Tweets a run posts exceed the per-user rate limit when runs repeat within the hour: the bench
# measures delivery, so the server it starts gets a limit that cannot trigger.
SERVER_ENV = {"RATE_LIMIT_TWEETS_PER_USER": "1000000/1h"}


def prepare_audience(followers: int) -> tuple[User, list[User]]:
    """An author with `followers` active followers, every feed built (reruns reuse them)."""
    with transaction.atomic():
        author, *audience = ensure_users([AUTHOR, *(f"bench_rt_{n:04d}" for n in range(followers))])
        ensure_follows([(follower.pk, author.pk) for follower in audience])
    feeds_bulk_build(user_ids=[author.pk, *(follower.pk for follower in audience)])
    return author, audience


@dataclass
class Phase:
    sockets: int
    tweets: int
    latencies_ms: list[float] = field(default_factory=list)
    delivered: int = 0
    duplicates: int = 0
    missing: dict[str, int] = field(default_factory=dict)  # tweet marker -> sockets it never reached
    post_ms: list[float] = field(default_factory=list)
    post_failures: list[str] = field(default_factory=list)
    first_ms: list[float] = field(default_factory=list)  # per tweet: its first arrival on any socket
    spread_ms: list[float] = field(default_factory=list)  # per tweet: last arrival - first arrival
    task_ms: list[float] = field(default_factory=list)  # fan-out task run times (worker log)
    over_capacity: int = 0  # channel-layer sends the worker logged as dropped (channel over capacity)
    server_errors: int = 0  # exceptions the web server logged meanwhile
    closed: dict[int, int | None] = field(default_factory=dict)  # sockets the server closed by the end

    @property
    def expected(self) -> int:
        return self.sockets * (self.tweets - len(self.post_failures))


@dataclass
class Outcome:
    baseline: Phase
    full: Phase
    connect_seconds: float
    refused: list[str]
    web_memory_one: Memory
    web_memory_all: Memory
    worker_memory_idle: Memory
    worker_memory_all: Memory


class Listener:
    """Reads every socket; notes when each socket received each tweet posted by this run."""

    def __init__(self) -> None:
        self.token = get_random_string(6, "abcdefghijklmnopqrstuvwxyz")
        self.pattern = re.compile(rf"rt{self.token}n\d+")
        self.sent: dict[str, float] = {}
        self.arrivals: dict[str, dict[int, float]] = defaultdict(dict)  # marker -> socket -> ms
        self.duplicates = 0
        self.count = 0
        self.last_arrival = time.perf_counter()
        self.closed: dict[int, int | None] = {}  # socket -> close code, for sockets the server closed

    def marker(self) -> str:
        self.count += 1
        return f"rt{self.token}n{self.count}"

    async def listen(self, index: int, socket: Any) -> None:
        from websockets.exceptions import ConnectionClosed

        with contextlib.suppress(ConnectionClosed):  # how it closed is told by close_code below
            await self._read(index, socket)
        # Cancelled (the run is over) never gets here: the server closed this socket mid-run.
        self.closed[index] = socket.close_code

    async def _read(self, index: int, socket: Any) -> None:
        async for raw in socket:
            arrived = time.perf_counter()
            message = json.loads(raw)
            if message.get("event") != "tweet.new":
                continue
            found = self.pattern.search(message["payload"]["html"])
            if found is None or found.group(0) not in self.sent:
                continue
            marker = found.group(0)
            self.last_arrival = arrived
            if index in self.arrivals[marker]:
                self.duplicates += 1
            else:
                self.arrivals[marker][index] = (arrived - self.sent[marker]) * 1000


async def _connect(origin: str, cookies: list[str]) -> tuple[list[Any], list[str]]:
    from websockets.asyncio.client import connect
    from websockets.typing import Origin

    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)

    async def one(cookie: str) -> Any:
        async with gate:
            # ping_interval=None: keepalive pings would only add noise in a minute-long run.
            return await connect(
                f"ws://{HOST}:{origin.rsplit(':', 1)[1]}/ws/",
                additional_headers={"Cookie": cookie},
                origin=Origin(origin),
                open_timeout=60,
                ping_interval=None,
            )

    results = await asyncio.gather(*(one(cookie) for cookie in cookies), return_exceptions=True)
    sockets = [result for result in results if not isinstance(result, BaseException)]
    refused = [f"{type(result).__name__}: {result}" for result in results if isinstance(result, BaseException)]
    return sockets, refused


class Author:
    """Posts tweets through the compose form, as a browser does (session + CSRF cookie and token)."""

    def __init__(self, server: Server, cookie: str) -> None:
        self.server = server
        self.cookie = cookie
        self.csrf_cookie = ""
        self.csrf_token = ""

    async def load_form(self) -> None:
        page = await fetch(HOST, self.server.port, "GET", "/", headers={"Cookie": self.cookie})
        token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page.body)
        self.csrf_cookie = page.cookies().get("csrftoken", "")
        if page.status != 200 or token is None or not self.csrf_cookie:
            raise ServerFailed(f"the author's home page has no compose form (status {page.status})")
        self.csrf_token = token.group(1).decode()

    async def post(self, text: str) -> tuple[int, str]:
        body = urlencode({"csrfmiddlewaretoken": self.csrf_token, "text": text}).encode()
        response = await fetch(
            HOST,
            self.server.port,
            "POST",
            "/tweets/",
            headers={
                "Cookie": f"{self.cookie}; csrftoken={self.csrf_cookie}",
                "Content-Type": "application/x-www-form-urlencoded",
                "Origin": self.server.origin,
                "Referer": self.server.origin + "/",
            },
            body=body,
        )
        return response.status, response.header("location") or ""


async def _phase(listener: Listener, author: Author, sockets: int, tweets: int) -> Phase:
    phase = Phase(sockets=sockets, tweets=tweets)
    markers = []
    for n in range(tweets):
        marker = listener.marker()
        started = time.perf_counter()
        listener.sent[marker] = started
        status, location = await author.post(f"Live delivery check {n + 1} of {tweets}: {marker}")
        phase.post_ms.append((time.perf_counter() - started) * 1000)
        if status != 302:
            phase.post_failures.append(f"POST {n + 1}: HTTP {status} {location}")
        else:
            markers.append(marker)
        await asyncio.sleep(max(0.0, started + SPACING_SECONDS - time.perf_counter()))
    deadline = time.perf_counter() + DRAIN_SECONDS
    while any(len(listener.arrivals[m]) < sockets for m in markers):
        now = time.perf_counter()
        if now > deadline or now - max(listener.last_arrival, started) > QUIET_SECONDS:
            break
        await asyncio.sleep(0.05)
    duplicates_before = listener.duplicates
    for marker in markers:
        arrived = listener.arrivals[marker]
        phase.latencies_ms += arrived.values()
        if arrived:
            phase.first_ms.append(min(arrived.values()))
            phase.spread_ms.append(max(arrived.values()) - min(arrived.values()))
        if len(arrived) < sockets:
            phase.missing[marker] = sockets - len(arrived)
    phase.delivered = len(phase.latencies_ms)
    phase.closed = dict(listener.closed)
    phase.duplicates = listener.duplicates - duplicates_before
    return phase


TASK_DONE = re.compile(rb"fanout_tweet_task\[[^\]]+\] succeeded in ([0-9.]+)s")
OVER_CAPACITY = re.compile(rb"(\d+) of \d+ channels over capacity")


async def _measured_phase(
    listener: Listener, author: Author, worker: Process, server: Server, sockets: int, tweets: int
) -> Phase:
    """A phase, plus what the worker and server logs say happened meanwhile."""
    worker_offset, server_offset = worker.log_size(), server.log_size()
    phase = await _phase(listener, author, sockets, tweets)
    worker_log = worker.log_since(worker_offset)
    phase.task_ms = [float(seconds) * 1000 for seconds in TASK_DONE.findall(worker_log)]
    phase.over_capacity = sum(int(count) for count in OVER_CAPACITY.findall(worker_log))
    phase.server_errors = server.log_since(server_offset).count(b"Traceback (most recent call last)")
    return phase


async def _close(sockets: list[Any]) -> None:
    """Close the sockets as they were opened, CONNECT_CONCURRENCY at a time (the benchmark is not
    about a disconnect storm)."""
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)

    async def one(socket: Any) -> None:
        async with gate:
            await socket.close()

    await asyncio.gather(*(one(socket) for socket in sockets), return_exceptions=True)


async def _session(ctx: Context, server: Server, worker: Process, author_cookie: str, cookies: list[str]) -> Outcome:
    listener = Listener()
    author = Author(server, author_cookie)
    await author.load_form()
    worker_idle = worker.memory()
    first, refused = await _connect(server.origin, cookies[:1])
    if not first:
        raise ServerFailed(f"the first follower's websocket was refused: {refused}")
    sockets = list(first)
    readers = [asyncio.create_task(listener.listen(0, first[0]))]
    try:
        ctx.say(f"realtime: 1 socket open, posting {ctx.scale.realtime_tweets} tweets")
        baseline = await _measured_phase(listener, author, worker, server, 1, ctx.scale.realtime_tweets)
        web_one = server.memory()
        started = time.perf_counter()
        rest, refused = await _connect(server.origin, cookies[1:])
        connect_seconds = time.perf_counter() - started
        sockets += rest
        readers += [asyncio.create_task(listener.listen(n + 1, socket)) for n, socket in enumerate(rest)]
        ctx.say(
            f"realtime: {len(sockets)} sockets open in {connect_seconds:.1f} s ({len(refused)} refused), "
            f"posting {ctx.scale.realtime_tweets} tweets"
        )
        await asyncio.sleep(1.0)  # let the handshake burst settle (presence writes, group joins)
        full = await _measured_phase(listener, author, worker, server, len(sockets), ctx.scale.realtime_tweets)
        web_all, worker_all = server.memory(), worker.memory()
    finally:
        for task in readers:
            task.cancel()
        await asyncio.gather(*readers, return_exceptions=True)
        await _close(sockets)
        await asyncio.sleep(1.0)  # the server runs its disconnect handlers before it is stopped
    return Outcome(baseline, full, connect_seconds, refused, web_one, web_all, worker_idle, worker_all)


def _missing_note(phase: Phase) -> str:
    notes = []
    if phase.missing:
        notes.append(f"MISSING: {sum(phase.missing.values())} deliveries ({phase.missing})")
    if phase.duplicates:
        notes.append(f"DUPLICATES: {phase.duplicates}")
    if phase.post_failures:
        notes.append(f"POST FAILED: {phase.post_failures}")
    if phase.over_capacity:
        notes.append(f"the worker logged {phase.over_capacity} sends dropped by the channel layer (over capacity)")
    if phase.server_errors:
        notes.append(f"the web server logged {phase.server_errors} exceptions")
    if phase.closed:
        codes = sorted({str(code) for code in phase.closed.values()})
        notes.append(f"CLOSED by the server: {len(phase.closed)} sockets (codes {', '.join(codes)})")
    return "; ".join(notes)


def _figures(ctx: Context, server_name: str, outcome: Outcome) -> list[Figure]:
    return _delivery_figures(server_name, outcome) + _memory_figures(server_name, outcome)


def _delivery_figures(server_name: str, outcome: Outcome) -> list[Figure]:
    """Tweet delivery to every socket (p50, p99, max, how many arrived), beside one socket open."""
    full, one = outcome.full, outcome.baseline
    n = full.sockets
    baseline_name = "1 follower socket open (same author, same feeds written, same server and worker)"
    notes = (
        f"{server_name} web server, Celery prefork worker (2 processes); {full.tweets} tweets {SPACING_SECONDS} s "
        f"apart; {n} sockets in one asyncio client sharing the 2 cores with server and worker; "
        f"sockets opened in {outcome.connect_seconds:.1f} s"
        f"; where the time goes (p50 over tweets, 1 socket in brackets): POST /tweets/ answered "
        f"{percentile(full.post_ms, 50):.0f} ms ({percentile(one.post_ms, 50):.0f}), first socket reached "
        f"{percentile(full.first_ms, 50):.0f} ms ({percentile(one.first_ms, 50):.0f}), fan-out task ran "
        f"{percentile(full.task_ms, 50):.0f} ms ({percentile(one.task_ms, 50):.0f}), first to last socket "
        f"{percentile(full.spread_ms, 50):.0f} ms"
        + (f"; {len(outcome.refused)} sockets REFUSED: {outcome.refused[:3]}" if outcome.refused else "")
        + (f"; {_missing_note(full)}" if _missing_note(full) else "")
        + (f"; baseline {_missing_note(one)}" if _missing_note(one) else "")
    )
    extra = {"server": server_name, "sockets": n, "tweets": full.tweets, "expected": full.expected,
             "delivered": full.delivered, "missing": full.missing, "refused": len(outcome.refused),
             "post_ms": full.post_ms, "first_ms": full.first_ms, "spread_ms": full.spread_ms,
             "task_ms": full.task_ms, "baseline_task_ms": one.task_ms, "over_capacity": full.over_capacity,
             "server_errors": full.server_errors, "closed_by_server": len(full.closed)}  # fmt: skip
    p99 = percentile(full.latencies_ms, 99)
    figures = [
        Figure(SECTION, f"{n:,} websockets: tweet delivery p50", round(percentile(full.latencies_ms, 50), 1), "ms",
               baseline=round(percentile(one.latencies_ms, 50), 1), baseline_name=baseline_name, notes=notes,
               extra=extra),
        Figure(SECTION, f"{n:,} websockets: tweet delivery p99", round(p99, 1), "ms",
               baseline=round(percentile(one.latencies_ms, 99), 1), baseline_name=baseline_name,
               target="p99 < 250 ms", met=p99 < 250 and full.delivered == full.expected, notes=notes, extra=extra),
        Figure(SECTION, f"{n:,} websockets: tweet delivery max", round(max(full.latencies_ms, default=0.0), 1), "ms",
               baseline=round(max(one.latencies_ms, default=0.0), 1), baseline_name=baseline_name, notes=notes,
               extra=extra),
        Figure(SECTION, f"{n:,} websockets: deliveries received", full.delivered, "messages",
               baseline=full.expected, baseline_name="expected: tweets posted x sockets open",
               target="all delivered", met=full.delivered == full.expected and not full.duplicates,
               notes=_missing_note(full) or "none missing, none duplicated", extra=extra),
    ]  # fmt: skip
    return figures


def _memory_figures(server_name: str, outcome: Outcome) -> list[Figure]:
    """What the web server and the Celery worker hold with every socket open and after the fan-outs."""
    full, n = outcome.full, outcome.full.sockets
    web, web_one = outcome.web_memory_all, outcome.web_memory_one
    worker, worker_idle = outcome.worker_memory_all, outcome.worker_memory_idle
    return [
        Figure(
            "memory",
            f"web server ({server_name}) RSS with {n:,} websockets open",
            round(web.rss_mib, 1),
            "MiB",
            baseline=round(web_one.rss_mib, 1),
            baseline_name="the same server with 1 websocket open, after the baseline tweets",
            notes=f"sum of VmRSS over {web.processes} processes (shared pages count once per process); "
            f"PSS {web.pss_mib:.1f} MiB (1 socket: {web_one.pss_mib:.1f}); "
            f"{(web.rss_mib - web_one.rss_mib) * 1024 / max(n - 1, 1):.1f} KiB RSS per extra socket",
            extra={"server": server_name, "processes": web.processes, "pss_mib": web.pss_mib},
        ),
        Figure(
            "memory",
            f"Celery worker RSS after {2 * full.tweets} fan-outs to {n:,} followers",
            round(worker.rss_mib, 1),
            "MiB",
            baseline=round(worker_idle.rss_mib, 1),
            baseline_name="the same worker right after start",
            notes=f"prefork, sum of VmRSS over {worker.processes} processes (shared pages count once per "
            f"process); PSS {worker.pss_mib:.1f} MiB (idle: {worker_idle.pss_mib:.1f})",
            extra={"processes": worker.processes, "pss_mib": worker.pss_mib},
        ),
    ]


def run(ctx: Context) -> list[Figure]:
    server_name = http.fastest_server or ("uvicorn" if "uvicorn" in ctx.servers else ctx.servers[0])
    ctx.say(f"realtime: preparing an author with {ctx.scale.websockets:,} followers")
    author, audience = prepare_audience(ctx.scale.websockets)
    cookies = session_cookies([author, *audience])
    with servers.running_server(server_name, ctx.port, env=SERVER_ENV) as server, servers.running_worker() as worker:
        ctx.say(f"realtime: {server_name} and a Celery worker are up")
        outcome = run_async(_session(ctx, server, worker, cookies[author.pk], [cookies[f.pk] for f in audience]))
    return _figures(ctx, server_name, outcome)
