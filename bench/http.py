"""Section "http": the logged-in home page on real servers, beside the trivial view /livez on the
same server and middleware (issue 15's targets):

- requests/s at each concurrency level (16 and 64 keep-alive connections), home / livez, and the
  requests that failed (non-2xx, broken connections, timeouts);
- server CPU per request across every process of the stack (bench/cpu.py), over a fixed number of
  requests, for the home page and for /livez, with the split per process kind;
- bytes of the home page, plain and with Accept-Encoding: gzip.

The Procfile's server (uvicorn, 2 workers) runs all of it, with a Celery worker beside it as in
production. The other ASGI servers of the comparison (`make bench` only) run the last level only,
to keep the run short; the fastest that also serves our websockets goes on to the realtime section.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import re
from collections import Counter
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction

from accounts.models import User
from bench import servers
from bench.core import Context, Figure, Target, aim
from bench.cpu import CpuUse, Stack, cpu_per_request
from bench.data import ensure_follows, ensure_users, session_cookies
from bench.load import LoadResult, Response, fetch, load, load_count, run_async
from bench.servers import HOST, PROCESSES, PROCFILE_SERVER, ServerFailed
from timelines.services import feeds_bulk_build
from tweets.models import Tweet

SECTION = "http"
READER = "bench_http_0"  # the logged-in reader of the home page
AUTHORS = 60  # accounts the reader follows (bench_http_1 ... bench_http_60)
TWEETS_PER_AUTHOR = 2
# Every browser asks for compressed pages: so does the load, for both views, so that compressing
# (when the site does) is paid for in the figures as it is in production.
ACCEPT = {"Accept-Encoding": "gzip"}
ROUNDS = 2  # turns of /livez then home per concurrency level

# The server the http section found fastest among those serving websockets, for the realtime
# section of the same run (None until the http section ran).
fastest_server: str | None = None


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
EXCEPTION_LINE = re.compile(rb"^[A-Za-z_][\w.]*(?:Error|Exception): .*$", re.MULTILINE)


def body_of(response: Response) -> bytes:
    """The response body as the browser sees it (gunzipped when it came compressed)."""
    if (response.header("content-encoding") or "").lower() == "gzip":
        return gzip.decompress(response.body)
    return response.body


def check_home_page(port: int, cookie: str) -> str:
    """The logged-in home page must be a full page of tweets served from the feed (a benchmark of
    a redirect or an empty page would be worthless). Returns what was seen; raises if wrong."""
    response = run_async(fetch(HOST, port, "GET", "/", headers={"Cookie": cookie, **ACCEPT}))
    body = body_of(response)
    tweets = len(TWEET_MARKUP.findall(body))
    source = re.search(rb'data-source="([a-z+]+)"', body)
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


# --- Measuring ------------------------------------------------------------------------------------


@dataclass
class Level:
    connections: int
    livez: LoadResult
    home: LoadResult


@dataclass
class PageBytes:
    plain: int  # body bytes without Accept-Encoding
    sent: int  # body bytes on the wire with Accept-Encoding: gzip
    encoding: str  # the Content-Encoding that came back ("" when none)
    unpacked: int  # the gzip answer's body once decompressed
    tweets: int


@dataclass
class Measured:
    server: str
    levels: list[Level]
    websocket: bool
    websocket_detail: str
    page: str
    server_errors: int = 0  # tracebacks the server logged during the run
    server_error_kinds: str = ""  # the most frequent exception lines among them
    cpu: dict[str, CpuUse] = field(default_factory=dict)  # "home", "livez": the Procfile's server only
    page_bytes: PageBytes | None = None


def _page_bytes(port: int, cookie: str) -> PageBytes:
    plain = run_async(fetch(HOST, port, "GET", "/", headers={"Cookie": cookie}))
    packed = run_async(fetch(HOST, port, "GET", "/", headers={"Cookie": cookie, **ACCEPT}))
    unpacked = body_of(packed)
    return PageBytes(
        plain=len(plain.body),
        sent=len(packed.body),
        encoding=packed.header("content-encoding") or "",
        unpacked=len(unpacked),
        tweets=len(TWEET_MARKUP.findall(unpacked)),
    )


def _cpu(ctx: Context, stack: Stack, port: int, cookie: str) -> dict[str, CpuUse]:
    """CPU of the whole stack per request, over a fixed number of requests of each view."""
    connections = ctx.scale.http_connections[0]
    home_requests, livez_requests = ctx.scale.cpu_requests
    used = {}
    for view, path, headers, requests in (
        ("livez", "/livez", ACCEPT, livez_requests),
        ("home", "/", {"Cookie": cookie, **ACCEPT}, home_requests),
    ):
        before = stack.snapshot()
        result = load_count(port=port, path=path, headers=headers, connections=connections, requests=requests)
        used[view] = cpu_per_request(before, stack.snapshot(), result.requests)
        ctx.say(f"http: CPU per {view} request {used[view].total_ms:.2f} ms ({used[view].split()})")
    return used


def _alternating(port: int, cookie: str, connections: int, seconds: float, *, first: bool) -> tuple[LoadResult, ...]:
    """/livez and the home page in turns (ROUNDS each, `seconds` in all per view): other work on
    the shared cores then weighs on both sides of the ratio alike instead of on one."""
    rounds: list[tuple[LoadResult, LoadResult]] = []
    for n in range(ROUNDS):
        # The first seconds of a fresh server include imports and pool connections: warm-up.
        warmup = (1.5 if first else 0.5) if n == 0 else 0.2
        livez = load(port=port, path="/livez", headers=ACCEPT, connections=connections, seconds=seconds / ROUNDS,
                     warmup=warmup)  # fmt: skip
        home = load(port=port, path="/", headers={"Cookie": cookie, **ACCEPT}, connections=connections,
                    seconds=seconds / ROUNDS, warmup=min(warmup, 1.0))  # fmt: skip
        rounds.append((livez, home))
    return tuple(LoadResult.merged([round_[view] for round_ in rounds]) for view in (0, 1))


def _measure(ctx: Context, name: str, cookie: str) -> Measured:
    scale = ctx.scale
    procfile = name == PROCFILE_SERVER
    with (
        servers.starting_worker() as (worker, worker_ready),
        servers.running_server(name, ctx.port) as server,
    ):
        worker_ready()
        page = check_home_page(server.port, cookie)
        websocket, detail = check_websocket(server.port, cookie)
        ctx.say(f"http: {name} and a Celery worker up ({page}; websocket: {detail})")
        measured = Measured(name, [], websocket, detail, page)
        for n, connections in enumerate(scale.http_connections if procfile else scale.http_connections[-1:]):
            livez, home = _alternating(server.port, cookie, connections, scale.http_seconds, first=n == 0)
            ctx.say(
                f"http: {name} x{connections}: /livez {livez.rps:.0f} req/s ({livez.failed} failed), "
                f"home {home.rps:.0f} req/s ({home.failed} failed: {dict(home.statuses)}, "
                f"{home.errors} errors, {home.timeouts} timeouts)"
            )
            measured.levels.append(Level(connections, livez, home))
        if procfile:
            stack = Stack.find(server=server.process.pid, worker=worker.process.pid)
            measured.cpu = _cpu(ctx, stack, server.port, cookie)
            measured.page_bytes = _page_bytes(server.port, cookie)
        log = server.log_since(0)
        measured.server_errors = log.count(b"Traceback (most recent call last)")
        kinds = Counter(EXCEPTION_LINE.findall(log)).most_common(3)
        measured.server_error_kinds = "; ".join(f"{n} x {line.decode(errors='replace')[:120]}" for line, n in kinds)
    return measured


# --- Figures --------------------------------------------------------------------------------------


def _failures(result: LoadResult) -> str:
    statuses = {status: n for status, n in result.statuses.items() if not 200 <= status < 300}
    return f"{result.failed} ({result.non_2xx} non-2xx {statuses}, {result.errors} errors, {result.timeouts} timeouts)"


def _level_figures(m: Measured, level: Level, ctx: Context) -> list[Figure]:
    home, livez, n = level.home, level.livez, level.connections
    label = f"{m.server} ({PROCESSES[m.server]}), {n} connections"
    load_note = (
        f"{n} keep-alive connections for {ctx.scale.http_seconds:g} s per view in {ROUNDS} alternating turns, "
        "Accept-Encoding: gzip, from a "
        "raw-asyncio client sharing the 2 cores with the server (compare ratios, not req/s across runs)"
        + (
            f"; the server logged {m.server_errors} tracebacks during the run ({m.server_error_kinds})"
            if m.server_errors
            else ""
        )
    )
    extra = {
        "server": m.server,
        "connections": n,
        "home": {"requests": home.requests, "rps": home.rps, "p50_ms": home.p50_ms, "p99_ms": home.p99_ms,
                 "failed": home.failed, "non_2xx": home.non_2xx, "errors": home.errors, "timeouts": home.timeouts,
                 "statuses": dict(home.statuses)},
        "livez": {"requests": livez.requests, "rps": livez.rps, "p50_ms": livez.p50_ms, "p99_ms": livez.p99_ms,
                  "failed": livez.failed, "non_2xx": livez.non_2xx, "errors": livez.errors,
                  "timeouts": livez.timeouts, "statuses": dict(livez.statuses)},
    }  # fmt: skip
    throughput = Figure(
        SECTION, f"{label}: logged-in home page req/s", round(home.rps, 1), "req/s",
        baseline=round(livez.rps, 1), baseline_name="/livez (trivial view, no I/O), same server, middleware, load",
        notes=load_note, extra=extra,
    )  # fmt: skip
    failed = Figure(
        SECTION, f"{label}: failed home page requests", home.failed, "requests",
        baseline=livez.failed, baseline_name="failed /livez requests, same level",
        notes=f"of {home.sent:,} home requests sent: {_failures(home)}; /livez: {_failures(livez)}; timeout 10 s",
        extra=extra,
    )  # fmt: skip
    p99 = Figure(
        SECTION, f"{label}: home page p99", round(home.p99_ms, 2), "ms",
        baseline=round(livez.p99_ms, 2), baseline_name="/livez p99, same level",
        notes=f"p50 {home.p50_ms:.1f} ms (/livez {livez.p50_ms:.1f} ms)", extra={"server": m.server, "connections": n},
    )  # fmt: skip
    return [aim(throughput, Target(">=", 0.5, "x")), aim(failed, Target("<=", 0, "requests"), on="value"), p99]


def _procfile_figures(m: Measured, ctx: Context) -> list[Figure]:
    figures = []
    if m.cpu:
        home, livez = m.cpu["home"], m.cpu["livez"]
        cpu = Figure(
            SECTION,
            f"{m.server}: server CPU per logged-in home page, all processes of the stack",
            round(home.total_ms, 2),
            "ms",
            baseline=round(livez.total_ms, 2),
            baseline_name="the same per /livez request",
            notes=f"{home.requests:,} home / {livez.requests:,} /livez requests over "
            f"{ctx.scale.http_connections[0]} connections; utime+stime from /proc of the server's parent and "
            f"workers, the postmaster and every Postgres process, Redis, the Celery worker (beat not running); "
            f"home: {home.split()}; /livez: {livez.split()}; the load client spent {home.client_ms:.2f} ms "
            f"per home request ({livez.client_ms:.2f} per /livez), not counted",
            extra={"home": home.by_kind, "livez": livez.by_kind, "client_ms": [home.client_ms, livez.client_ms]},
        )
        figures.append(aim(cpu, Target("<=", 5, "ms"), on="value"))
    if m.page_bytes:
        page = m.page_bytes
        size = Figure(
            SECTION,
            f"home page bytes with Accept-Encoding: gzip ({page.tweets} tweets)",
            page.sent,
            "bytes",
            baseline=page.plain,
            baseline_name="the same page without Accept-Encoding",
            notes=f"Content-Encoding: {page.encoding or 'none'}; {page.unpacked:,} bytes once decompressed",
            extra={"encoding": page.encoding, "unpacked": page.unpacked},
        )
        size.target, size.met = "compressed (gzip or br)", page.encoding in ("gzip", "br")
        size.margin = "met" if size.met else f"missed: Content-Encoding {page.encoding or 'absent'}"
        figures.append(size)
    return figures


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
        for level in result.levels:
            figures += _level_figures(result, level, ctx)
        figures += _procfile_figures(result, ctx)
    capable = [m for m in measured if m.websocket]
    if not capable:
        raise ServerFailed(f"no server served the home page and websockets: {failed or 'see the figures'}")
    # Servers are compared at the level they all ran: the last one.
    best = max(capable, key=lambda m: m.levels[-1].home.rps)
    fastest_server = best.server
    reference = next((m for m in measured if m.server == PROCFILE_SERVER), None)
    ranking = sorted(measured, key=lambda m: m.levels[-1].home.rps, reverse=True)
    figures.append(
        Figure(
            SECTION,
            f"fastest ASGI server serving websockets too: home page req/s at {ctx.scale.http_connections[-1]}",
            round(best.levels[-1].home.rps, 1),
            "req/s",
            baseline=round(reference.levels[-1].home.rps, 1) if reference else None,
            baseline_name=f"{PROCFILE_SERVER}, the Procfile's server" if reference else "",
            notes=f"kept: {best.server}; ranking by home req/s: "
            + ", ".join(
                f"{m.server} {m.levels[-1].home.rps:.0f} ({m.levels[-1].home.failed} failed)"
                + ("" if m.websocket else " (no websockets)")
                for m in ranking
            )
            + (f"; failed to run: {failed}" if failed else ""),
            extra={"server": best.server, "failed": failed},
        )
    )
    return figures
