"""Section "http": the logged-in home page under concurrent load, beside a trivial view (/livez) on
the same server and middleware, for each ASGI server that fits; keeps the fastest one that also
serves our websockets. Servers are started by bench/servers.py, bench accounts made by bench/data.py.
"""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction

from accounts.models import User
from bench import servers
from bench.core import Context, Figure
from bench.data import ensure_follows, ensure_users, session_cookies
from bench.load import LoadResult, fetch, load, run_async
from bench.servers import HOST, PROCESSES, ServerFailed
from timelines.services import feeds_bulk_build
from tweets.models import Tweet

SECTION = "http"
READER = "bench_http_0"  # the logged-in reader of the home page
AUTHORS = 60  # accounts the reader follows (bench_http_1 ... bench_http_60)
TWEETS_PER_AUTHOR = 2

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
    with servers.running_server(name, ctx.port) as server:
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
