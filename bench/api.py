"""Section "api" (issue 22): the JSON API's home timeline on real servers, for a reader following
1,000 accounts (at `make bench` and `bench-quick` scale), beside two baselines measured in the same
run, on the same server, middleware and load:

- requests/s at 16 and 64 keep-alive connections, as a ratio of the trivial /livez view (target
  >= 0.5) and of the HTML home page of the same reader (target >= 1: at least as fast), the three
  views in alternating turns so that other work on the shared cores weighs on all alike;
- payload sizes: the API page (20 tweets) and the HTML home page, plain and with gzip;
- what one warm API home request costs, counted in this process through django.test.Client: SQL
  queries and Redis round trips, targets 0 and 2 as the HTML page's (the token, its user and the
  activity in one call, the timeline in the other; tests/api/test_home_timeline.py pins them).

The reader calls with a personal access token (Authorization: Bearer); the HTML page with a session
cookie. The Procfile's server (uvicorn, 2 workers) runs it, a Celery worker beside it.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass

from django.conf import settings
from django.test import Client

from accounts.models import User
from api.services import token_create
from bench import servers
from bench.core import Context, Figure, Target, aim
from bench.counting import RoundTrips, round_trips
from bench.data import reader_following, session_cookies
from bench.http import ACCEPT, ROUNDS, body_of, check_home_page
from bench.load import LoadResult, fetch, load, run_async
from bench.servers import HOST, PROCESSES, PROCFILE_SERVER, ServerFailed

SECTION = "api"
API_HOME = "/api/v1/timelines/home"


@dataclass
class Level:
    connections: int
    livez: LoadResult
    api: LoadResult
    html: LoadResult


@dataclass
class Payload:
    plain: int
    sent: int
    encoding: str


def _counted(token: str) -> RoundTrips:
    """SQL queries and Redis round trips of one warm API home request (after two that fill caches,
    open connections and stamp the token's and the user's activity)."""
    client = Client(HTTP_HOST="127.0.0.1", headers={"Authorization": f"Bearer {token}"})
    for _ in range(2):
        client.get(API_HOME)
    with round_trips() as counted:
        response = client.get(API_HOME)
    if response.status_code != 200 or len(response.json()["items"]) != settings.TIMELINE_PAGE_SIZE:
        raise AssertionError(f"GET {API_HOME}: {response.status_code}, not a full page")
    return counted


def _check_api(port: int, headers: dict[str, str]) -> str:
    response = run_async(fetch(HOST, port, "GET", API_HOME, headers=headers))
    items = json.loads(body_of(response))["items"] if response.status == 200 else []
    seen = f"status {response.status}, {len(items)} tweets"
    if len(items) != settings.TIMELINE_PAGE_SIZE:
        raise ServerFailed(f"the API home timeline is not a full page: {seen}")
    return seen


def _payload(port: int, path: str, headers: dict[str, str]) -> Payload:
    plain = run_async(fetch(HOST, port, "GET", path, headers=headers))
    packed = run_async(fetch(HOST, port, "GET", path, headers={**headers, **ACCEPT}))
    return Payload(plain=len(plain.body), sent=len(packed.body), encoding=packed.header("content-encoding") or "")


def _level(port: int, connections: int, seconds: float, views: dict[str, dict[str, str]], *, first: bool) -> Level:
    turns: dict[str, list[LoadResult]] = {name: [] for name in views}
    for n in range(ROUNDS):
        warmup = (1.5 if first else 0.5) if n == 0 else 0.2
        for name, headers in views.items():
            path = {"livez": "/livez", "api": API_HOME, "html": "/"}[name]
            turns[name].append(
                load(
                    port=port,
                    path=path,
                    headers=headers,
                    connections=connections,
                    seconds=seconds / ROUNDS,
                    warmup=warmup,
                )
            )
    merged = {name: LoadResult.merged(results) for name, results in turns.items()}
    return Level(connections, merged["livez"], merged["api"], merged["html"])


def run(ctx: Context) -> list[Figure]:
    following = max(ctx.scale.page_followings)
    with servers.starting_worker() as (_, worker_ready), servers.running_server(PROCFILE_SERVER, ctx.port) as server:
        reader = User.objects.get(pk=reader_following(count=following, prefix="apix", rng=random.Random(22)))
        _, token = token_create(user=reader, name="bench", scopes=["read"])
        cookie = session_cookies([reader])[reader.pk]
        worker_ready()
        views = {
            "livez": dict(ACCEPT),
            "api": {"Authorization": f"Bearer {token}", **ACCEPT},
            "html": {"Cookie": cookie, **ACCEPT},
        }
        ctx.say(f"api: {_check_api(server.port, views['api'])}; HTML home {check_home_page(server.port, cookie)}")
        counted = _counted(token)
        levels = []
        for n, connections in enumerate(ctx.scale.http_connections):
            level = _level(server.port, connections, ctx.scale.http_seconds, views, first=n == 0)
            ctx.say(
                f"api x{connections}: /livez {level.livez.rps:.0f} req/s, API home {level.api.rps:.0f} req/s "
                f"({level.api.failed} failed), HTML home {level.html.rps:.0f} req/s ({level.html.failed} failed)"
            )
            levels.append(level)
        api_bytes = _payload(server.port, API_HOME, {"Authorization": f"Bearer {token}"})
        html_bytes = _payload(server.port, "/", {"Cookie": cookie})
    return _figures(ctx, following, levels, counted, api_bytes, html_bytes)


def _figures(
    ctx: Context, following: int, levels: list[Level], counted: RoundTrips, api_bytes: Payload, html_bytes: Payload
) -> list[Figure]:
    figures: list[Figure] = []
    who = f"token, reader following {following:,}"
    for level in levels:
        n, api, livez, html = level.connections, level.api, level.livez, level.html
        label = f"{PROCFILE_SERVER} ({PROCESSES[PROCFILE_SERVER]}), {n} connections"
        note = (
            f"{n} keep-alive connections, {ctx.scale.http_seconds:g} s per view in {ROUNDS} alternating turns "
            f"(/livez, API, HTML), Accept-Encoding: gzip; API p50 {api.p50_ms:.1f} ms p99 {api.p99_ms:.1f} ms, "
            f"HTML p50 {html.p50_ms:.1f} ms p99 {html.p99_ms:.1f} ms, /livez p50 {livez.p50_ms:.1f} ms"
        )
        extra = {"connections": n, "api_rps": api.rps, "html_rps": html.rps, "livez_rps": livez.rps}
        figures += [
            aim(
                Figure(
                    SECTION, f"{label}: API home timeline req/s ({who})", round(api.rps, 1), "req/s",
                    baseline=round(livez.rps, 1), baseline_name="/livez (trivial view), same server and load",
                    notes=note, extra=extra,
                ),
                Target(">=", 0.5, "x"),
            ),
            aim(
                Figure(
                    SECTION, f"{label}: API home timeline vs the HTML home page, req/s", round(api.rps, 1), "req/s",
                    baseline=round(html.rps, 1), baseline_name="the same reader's HTML home page (session cookie)",
                    notes=note, extra=extra,
                ),
                Target(">=", 1.0, "x"),
            ),
            aim(
                Figure(
                    SECTION, f"{label}: failed API home requests", api.failed, "requests",
                    baseline=html.failed, baseline_name="failed HTML home requests, same level",
                    notes=f"of {api.sent:,} sent; statuses {dict(api.statuses)}, {api.errors} errors, "
                    f"{api.timeouts} timeouts", extra=extra,
                ),
                Target("<=", 0, "requests"),
                on="value",
            ),
        ]  # fmt: skip
    figures += [
        Figure(
            SECTION, f"API home timeline bytes with Accept-Encoding: gzip ({settings.TIMELINE_PAGE_SIZE} tweets)",
            api_bytes.sent, "bytes", baseline=html_bytes.sent,
            baseline_name="the HTML home page with Accept-Encoding: gzip",
            notes=f"plain: API {api_bytes.plain:,} bytes, HTML {html_bytes.plain:,} bytes; Content-Encoding: API "
            f"{api_bytes.encoding or 'none'}, HTML {html_bytes.encoding or 'none'}",
            extra={"api": api_bytes.__dict__, "html": html_bytes.__dict__},
        ),
        aim(
            Figure(
                SECTION, "warm API home request in-process: SQL queries", len(counted.sql), "queries",
                notes="; ".join(" ".join(sql.split())[:90] for sql in counted.sql) or "none",
                extra={"sql": counted.sql},
            ),
            Target("<=", 0, "queries"),
            on="value",
        ),
        aim(
            Figure(
                SECTION, "warm API home request in-process: Redis round trips", len(counted.redis), "round trips",
                notes=f"commands: {' '.join(counted.redis) or 'none'}", extra={"redis": counted.redis},
            ),
            Target("<=", 2, "round trips"),
            on="value",
        ),
    ]  # fmt: skip
    return figures
