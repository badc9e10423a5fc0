"""Section "page": what one warm logged-in GET / costs in round trips, in this process through
django.test.Client (the whole middleware stack and template, no server): SQL queries, Redis round
trips and Python function calls, for readers following 50 and 1,000 accounts. Issue 15 pins a warm
home page at 0 SQL queries and at most 2 Redis round trips (session and timeline), whatever the
number of followees. The baseline is an anonymous GET /livez through the same stack.

Warm means a request of a session after two others and after the tasks they queued have run: the
first requests may fill caches (session, rows, fragments), open connections (whose handshakes would
count as round trips) and queue builds (a pull-mode followee's author list), which a real Celery
worker runs meanwhile, as in production.
"""

from __future__ import annotations

import cProfile
import pstats
import random
import time

from django.conf import settings
from django.test import Client

from accounts.models import User
from bench import servers
from bench.core import Context, Figure, Target, aim
from bench.counting import RoundTrips, round_trips
from bench.data import reader_following
from bench.http import TWEET_MARKUP
from tweethub.celery import queue_depth
from tweethub.redis import client_for

SECTION = "page"


def _tasks_pending() -> int:
    """Messages queued (any queue) or running (the broker is REDIS_URL here)."""
    broker = client_for(settings.REDIS_URL)
    return queue_depth(broker) + int(broker.hlen("unacked"))


def _drain(seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while _tasks_pending() and time.monotonic() < deadline:
        time.sleep(0.05)


def _measure(client: Client, path: str) -> tuple[RoundTrips, int, int]:
    """Round trips and Python calls of a warm GET (after two unmeasured ones and the tasks they
    queued); also the number of tweet cards on the page."""
    for _ in range(2):
        client.get(path)
    _drain()
    with round_trips() as counted:
        response = client.get(path)
    if response.status_code != 200:
        raise AssertionError(f"GET {path}: {response.status_code}")
    profiler = cProfile.Profile()
    profiler.enable()
    client.get(path)
    profiler.disable()
    calls = pstats.Stats(profiler).total_calls  # type: ignore[attr-defined]
    return counted, calls, len(TWEET_MARKUP.findall(response.content))


def _sql_notes(counted: RoundTrips) -> str:
    return "; ".join(" ".join(sql.split())[:70] for sql in counted.sql) or "none"


def run(ctx: Context) -> list[Figure]:
    rng = random.Random(11)
    with servers.starting_worker() as (_, worker_ready):
        readers = {n: reader_following(count=n, prefix=f"pg{n}x", rng=rng) for n in ctx.scale.page_followings}
        worker_ready()
        return _figures(ctx, readers)


def _figures(ctx: Context, readers: dict[int, int]) -> list[Figure]:
    anonymous = Client(HTTP_HOST="127.0.0.1")
    livez, livez_calls, _ = _measure(anonymous, "/livez")
    figures: list[Figure] = []
    for following, reader in readers.items():
        ctx.say(f"page: one warm GET / in-process, reader following {following:,}")
        client = Client(HTTP_HOST="127.0.0.1")
        client.force_login(User.objects.get(pk=reader))
        home, calls, tweets = _measure(client, "/")
        if not tweets:  # a page without cards would measure nothing
            raise AssertionError(f"GET / for reader {reader} showed no tweets")
        label = f"warm GET / in-process, following {following:,}"
        figures += [
            aim(
                Figure(
                    SECTION,
                    f"{label}: SQL queries",
                    len(home.sql),
                    "queries",
                    baseline=len(livez.sql),
                    baseline_name="anonymous GET /livez, same stack",
                    notes=f"{tweets} of {settings.TIMELINE_PAGE_SIZE} tweets on the page; {_sql_notes(home)}",
                    extra={"sql": home.sql},
                ),
                Target("<=", 0, "queries"),
                on="value",
            ),
            aim(
                Figure(
                    SECTION,
                    f"{label}: Redis round trips",
                    len(home.redis),
                    "round trips",
                    baseline=len(livez.redis),
                    baseline_name="anonymous GET /livez, same stack",
                    notes=f"commands: {' '.join(home.redis) or 'none'}",
                    extra={"redis": home.redis},
                ),
                Target("<=", 2, "round trips"),
                on="value",
            ),
            Figure(
                SECTION,
                f"{label}: Python function calls",
                calls,
                "calls",
                baseline=livez_calls,
                baseline_name="anonymous GET /livez, same stack",
                notes="cProfile, one request",
            ),
        ]
    return figures
