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
        return _figures(ctx, readers) + _notifications_figures(ctx, next(iter(readers.values())))


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


# Issue 21: the notifications page, for a reader with NOTIFICATION_GROUPS groups (a like group, a
# follow group and mentions, each naming up to three actors and a tweet). Counted like GET /, and
# timed against /livez in the same run (never asserted).
NOTIFICATION_GROUPS = 20
TIMED_REQUESTS = 50


def _p50_ms(client: Client, path: str) -> float:
    times = []
    for _ in range(TIMED_REQUESTS):
        started = time.perf_counter()
        client.get(path)
        times.append((time.perf_counter() - started) * 1000)
    return sorted(times)[len(times) // 2]


def _notify_reader(reader: int) -> int:
    from follows.models import Follow
    from notifications.services import notify
    from tweets.models import Tweet

    own = Tweet.objects.create(author_id=reader, text="a tweet to like")
    actors = list(Follow.objects.filter(follower_id=reader).values_list("followee_id", flat=True)[:40])
    for actor in actors[:10]:
        notify(kind="like", actor_id=actor, recipient_id=reader, object_id=own.pk)
        notify(kind="follow", actor_id=actor, recipient_id=reader)
    mentions = Tweet.objects.filter(author_id__in=actors).values_list("id", "author_id")[: NOTIFICATION_GROUPS - 2]
    for tweet_id, author in mentions:
        notify(kind="mention", actor_id=author, recipient_id=reader, object_id=tweet_id)
    return 2 + len(mentions)


def _notifications_figures(ctx: Context, reader: int) -> list[Figure]:
    ctx.say(f"page: warm GET /notifications/ in-process, {NOTIFICATION_GROUPS} groups")
    groups = _notify_reader(reader)
    anonymous = Client(HTTP_HOST="127.0.0.1")
    livez, calls_livez, _ = _measure(anonymous, "/livez")
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(User.objects.get(pk=reader))
    page, calls, _ = _measure(client, "/notifications/")
    label = f"warm GET /notifications/ in-process, {groups} groups"
    livez_name = "anonymous GET /livez, same stack"
    return [
        Figure(SECTION, f"{label}: SQL queries", len(page.sql), "queries", baseline=len(livez.sql),
               notes=_sql_notes(page), baseline_name=livez_name),
        Figure(SECTION, f"{label}: Redis round trips", len(page.redis), "round trips", baseline=len(livez.redis),
               notes=f"commands: {' '.join(page.redis) or 'none'}", baseline_name=livez_name),
        Figure(SECTION, f"{label}: Python function calls", calls, "calls", baseline=calls_livez,
               notes="cProfile, one request", baseline_name=livez_name),
        Figure(SECTION, f"{label}: p50", round(_p50_ms(client, "/notifications/"), 2), "ms",
               baseline=round(_p50_ms(anonymous, "/livez"), 2), notes=f"{TIMED_REQUESTS} requests each",
               baseline_name=livez_name),
    ]  # fmt: skip
