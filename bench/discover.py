"""Section 6, discovery: "people you may know" and the two-hop lists beside the same queries
without their caps, "people nearby" from the Redis GEO index beside the Postgres scan it replaces,
and what the GEO index costs to rebuild and to keep.

Users are sampled across follow-count buckets (decades of following and of followers, the same
number from each) plus the heaviest accounts on both sides, so the p99 covers the accounts the
caps exist for. One account following max(read_followings) accounts is added when the graph has
none that heavy (the seeded out-degrees stay in the hundreds: only such an account meets the
frontier cap on the "following" side; celebrities meet it on the "followers" side).

- Two-hop lists: suggestions(limit=DISCOVER_SUGGESTIONS) and the first pages of friends of
  friends and followers of followers (TIMELINE_PAGE_SIZE rows, what the views ask for), each with
  DISCOVER_FRONTIER_LIMIT / DISCOVER_HOP_LIMIT as configured, then with both limits out of reach
  (override_settings): the exact answer, the query the caps replace.
- Nearby: nearby_people(limit=NEARBY_RESULTS) for sampled sharers, then the same call with the
  index bypassed, i.e. the site's own fallback: _scanned_candidates (haversine over every sharer
  in Postgres) + the same re-read and exact re-rank. Both must give the same distances (checked
  before timing; ids may differ only among people at the same distance).
- Rebuild: accounts.services.geo_index_rebuild beside the Postgres read of the same rows alone;
  bytes per indexed user (geo.memory_usage() / geo.size()) beside a home feed's bytes.
"""

from __future__ import annotations

import math
import random
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.conf import settings
from django.db import OperationalError, connection
from django.test import override_settings
from psycopg.errors import QueryCanceled

from accounts import geo
from accounts.models import User, UserStats
from accounts.selectors import NearbyPerson, nearby_people
from accounts.services import geo_index_rebuild
from bench.core import Context, Figure, percentile, timed_ms
from bench.data import follows_create, users_create
from follows.selectors import followers_of_followers_page, friends_of_friends_page, suggestions
from timelines import store
from tweethub.redis import feeds

# Both caps out of reach: the two-hop queries then read every connection of every connection.
UNCAPPED = {"DISCOVER_FRONTIER_LIMIT": 2**31 - 1, "DISCOVER_HOP_LIMIT": 2**31 - 1}
# The uncapped queries of the heaviest accounts run for minutes: cancelled after this long (the
# site's own DB_STATEMENT_TIMEOUT_MS is 30 s) and counted as this long, a lower bound.
UNCAPPED_TIMEOUT_MS = 5_000
BASELINE_UNCAPPED = "the same query uncapped (exact answer)"
SLOW_MS = 1_000
REBUILD_REPEAT = 5


def _decade(count: int) -> int:
    return int(math.log10(count)) if count > 0 else -1


def _sample(rng: random.Random, count: int) -> tuple[list[int], dict[int, tuple[int, int]]]:
    """About `count` active accounts: the same number from each decade of following (1-9, 10-99,
    ...) and of followers, plus the 5 heaviest of each side. Returns (ids, {id: (following,
    followers)})."""
    rows = list(
        UserStats.objects.filter(user__is_active=True, user__is_staff=False).values_list(
            "user_id", "following", "followers"
        )
    )
    stats = {user_id: (following, followers) for user_id, following, followers in rows}
    buckets: dict[tuple[str, int], list[int]] = {}
    for user_id, following, followers in rows:
        if following:
            buckets.setdefault(("following", _decade(following)), []).append(user_id)
        if followers:
            buckets.setdefault(("followers", _decade(followers)), []).append(user_id)
    chosen: dict[int, None] = {}
    for side in (1, 0):  # heaviest by followers, then by following
        for user_id, _ in sorted(stats.items(), key=lambda item: item[1][side], reverse=True)[:5]:
            chosen[user_id] = None
    # Round robin over the buckets, each shuffled, so a bucket too small for its share leaves the
    # rest to the others.
    queues = [rng.sample(buckets[key], len(buckets[key])) for key in sorted(buckets)]
    while len(chosen) < count and any(queues):
        for queue in queues:
            if queue and len(chosen) < count:
                chosen[queue.pop()] = None
    return list(chosen), stats


def _heavy_follower(ctx: Context, rng: random.Random) -> None:
    """Make sure some account follows max(read_followings) others (see the module docstring)."""
    want = max(ctx.scale.read_followings)
    most = UserStats.objects.order_by("-following").values_list("following", flat=True).first() or 0
    if most >= want:
        return
    pool = list(User.objects.filter(is_active=True, is_staff=False).values_list("id", flat=True))
    (viewer,) = users_create(prefix="dq", count=1)
    follows_create(pairs=[(viewer, followee) for followee in rng.sample(pool, min(want, len(pool)))])


@contextmanager
def _statement_timeout(ms: int) -> Iterator[None]:
    with connection.cursor() as cursor:
        cursor.execute(f"SET statement_timeout = {int(ms)}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET statement_timeout")  # back to the site's DB_STATEMENT_TIMEOUT_MS


def _timed_pair(function: Callable[[], object], repeat: int) -> tuple[list[float], list[float], bool]:
    """(ms with the caps as configured, ms with them out of reach, whether the uncapped query hit
    UNCAPPED_TIMEOUT_MS), `repeat` runs each after one warm-up run, so both read from warm buffers.

    An uncapped query slower than SLOW_MS counts its warm-up run `repeat` times instead of running
    again, and one cancelled at UNCAPPED_TIMEOUT_MS counts as that long: a lower bound."""
    capped = timed_ms(function, repeat=repeat, warmup=1)
    with override_settings(**UNCAPPED), _statement_timeout(UNCAPPED_TIMEOUT_MS):
        started = time.perf_counter()
        try:
            function()
        except OperationalError as error:
            if not isinstance(error.__cause__, QueryCanceled):
                raise
            return capped, [float(UNCAPPED_TIMEOUT_MS)] * repeat, True
        first = (time.perf_counter() - started) * 1000
        uncapped = [first] * repeat if first > SLOW_MS else timed_ms(function, repeat=repeat, warmup=0)
    return capped, uncapped, False


@dataclass
class _TwoHopTimes:
    """Each two-hop list's reads over the sampled viewers, capped and uncapped."""

    repeat: int  # reads per viewer and list, each way
    samples: dict[str, tuple[list[float], list[float]]]  # {list: (capped ms, uncapped ms)}, all viewers
    per_user: dict[tuple[str, int], tuple[float, float]]  # {(list, viewer): (capped, uncapped) medians}
    timeouts: dict[str, int]  # {list: viewers whose uncapped read was cancelled}


def _two_hop(ctx: Context, rng: random.Random) -> list[Figure]:
    _heavy_follower(ctx, rng)
    viewers, stats = _sample(rng, ctx.scale.discover_users)
    page, top = settings.TIMELINE_PAGE_SIZE, settings.DISCOVER_SUGGESTIONS
    queries: dict[str, Callable[[int], object]] = {
        "suggestions": lambda me: suggestions(viewer_id=me, limit=top),
        "friends of friends, first page": lambda me: friends_of_friends_page(viewer_id=me, after=None, limit=page),
        "followers of followers, first page": lambda me: followers_of_followers_page(
            viewer_id=me, after=None, limit=page
        ),
    }
    ctx.say(f"discover: two-hop lists for {len(viewers)} sampled accounts, capped and uncapped")
    times = _time_two_hop(viewers, queries, ctx.scale.discover_repeat)
    return _two_hop_percentiles(times, viewers, stats) + _two_hop_heaviest(times, viewers, stats)


def _time_two_hop(viewers: list[int], queries: dict[str, Callable[[int], object]], repeat: int) -> _TwoHopTimes:
    times = _TwoHopTimes(
        repeat=repeat,
        samples={name: ([], []) for name in queries},
        per_user={},
        timeouts=dict.fromkeys(queries, 0),
    )
    for viewer in viewers:
        for name, query in queries.items():
            capped, uncapped, timed_out = _timed_pair(lambda: query(viewer), repeat)  # noqa: B023
            times.timeouts[name] += timed_out
            times.samples[name][0].extend(capped)
            times.samples[name][1].extend(uncapped)
            times.per_user[(name, viewer)] = (statistics.median(capped), statistics.median(uncapped))
    return times


def _two_hop_percentiles(times: _TwoHopTimes, viewers: list[int], stats: dict[int, tuple[int, int]]) -> list[Figure]:
    """p50 and p99 of each list over every sampled viewer, beside the same reads uncapped."""
    frontier, hop = settings.DISCOVER_FRONTIER_LIMIT, settings.DISCOVER_HOP_LIMIT
    following = sorted(stats[viewer][0] for viewer in viewers)
    followers = sorted(stats[viewer][1] for viewer in viewers)
    over = sum(1 for viewer in viewers if stats[viewer][0] > frontier)
    over_followers = sum(1 for viewer in viewers if stats[viewer][1] > frontier)
    notes = (
        f"{len(viewers)} accounts x {times.repeat} reads; following median {following[len(following) // 2]:,} "
        f"(max {following[-1]:,}), followers median {followers[len(followers) // 2]:,} (max {followers[-1]:,}); "
        f"over the frontier cap ({frontier:,}): {over} by following, {over_followers} by followers; hop cap {hop:,}"
    )
    figures: list[Figure] = []
    for name, (capped, uncapped) in times.samples.items():
        cancelled = (
            f"uncapped, {times.timeouts[name]} of {len(viewers)} accounts ran past {UNCAPPED_TIMEOUT_MS:,} ms "
            "(cancelled, counted as that: a lower bound)"
            if times.timeouts[name]
            else ""
        )
        for pct in (50, 99):
            figures.append(
                Figure(
                    "discover",
                    f"{name}: p{pct}",
                    percentile(capped, pct),
                    "ms",
                    baseline=percentile(uncapped, pct),
                    baseline_name=BASELINE_UNCAPPED,
                    notes=notes if pct == 50 else cancelled,
                    extra={"uncapped_timeouts": times.timeouts[name]},
                )
            )
    return figures


def _two_hop_heaviest(times: _TwoHopTimes, viewers: list[int], stats: dict[int, tuple[int, int]]) -> list[Figure]:
    """The accounts the caps are for: the heaviest of each side, on the list that reads that side."""
    heaviest_following = max(viewers, key=lambda viewer: stats[viewer][0])
    heaviest_followers = max(viewers, key=lambda viewer: stats[viewer][1])
    figures: list[Figure] = []
    for name, viewer, side in (
        ("suggestions", heaviest_following, f"following {stats[heaviest_following][0]:,}"),
        ("friends of friends, first page", heaviest_following, f"following {stats[heaviest_following][0]:,}"),
        ("followers of followers, first page", heaviest_followers, f"{stats[heaviest_followers][1]:,} followers"),
    ):
        capped_ms, uncapped_ms = times.per_user[(name, viewer)]
        figures.append(
            Figure(
                "discover",
                f"{name}: heaviest account ({side}), median",
                capped_ms,
                "ms",
                baseline=uncapped_ms,
                baseline_name=BASELINE_UNCAPPED,
                notes=f"median of {times.repeat}"
                + (
                    f"; uncapped cancelled at {UNCAPPED_TIMEOUT_MS:,} ms" if uncapped_ms >= UNCAPPED_TIMEOUT_MS else ""
                ),
            )
        )
    return figures


def _same_distances(found: list[NearbyPerson], expected: list[NearbyPerson]) -> bool:
    return len(found) == len(expected) and all(
        math.isclose(a.exact_km, b.exact_km, rel_tol=1e-9, abs_tol=1e-9) for a, b in zip(found, expected, strict=True)
    )


def _nearby(ctx: Context, rng: random.Random) -> list[Figure]:
    if not geo.is_ready():
        geo_index_rebuild()
    sharers = list(User.objects.filter(latitude__isnull=False, is_active=True).values_list("id", flat=True))
    if not sharers:
        raise AssertionError("nobody shares a position: seed_graph should have given some users one")
    chosen = rng.sample(sharers, min(ctx.scale.discover_users, len(sharers)))
    viewers = list(User.objects.in_bulk(chosen).values())
    limit = settings.NEARBY_RESULTS
    ctx.say(f"discover: people nearby for {len(viewers)} of {len(sharers):,} sharers, GEO index and Postgres scan")

    reordered_ties = 0
    for viewer in viewers:
        found = nearby_people(viewer=viewer, limit=limit)
        # The site's own fallback path: no index, every sharer's distance computed by Postgres.
        expected = nearby_people(viewer=viewer, limit=limit, use_index=False)
        if not _same_distances(found, expected):
            raise AssertionError(f"viewer {viewer.pk}: nearby from the GEO index differs from the Postgres scan")
        reordered_ties += [row.person.pk for row in found] != [row.person.pk for row in expected]
    repeat = ctx.scale.discover_repeat
    geo_ms: list[float] = []
    scan_ms: list[float] = []
    for viewer in viewers:
        geo_ms += timed_ms(lambda: nearby_people(viewer=viewer, limit=limit), repeat=repeat, warmup=1)  # noqa: B023
        scan_ms += timed_ms(
            lambda: nearby_people(viewer=viewer, limit=limit, use_index=False),  # noqa: B023
            repeat=repeat,
            warmup=1,
        )
    notes = (
        f"{len(viewers)} sharers x {repeat} reads, {limit} people each; {len(sharers):,} users share a position; "
        f"same distances on both paths ({reordered_ties} viewers got other people at a tied distance)"
    )
    baseline_name = "Postgres haversine scan of every sharer + the same re-rank"
    return [
        Figure(
            "discover",
            f"people nearby: p{pct}",
            percentile(geo_ms, pct),
            "ms",
            baseline=percentile(scan_ms, pct),
            baseline_name=baseline_name,
            notes=notes if pct == 50 else "",
            extra={"reordered_ties": reordered_ties, "sharers": len(sharers)},
        )
        for pct in (50, 99)
    ]


def _geo_index(ctx: Context) -> list[Figure]:
    ctx.say("discover: GEO index rebuild and memory")

    def rebuild() -> None:
        if geo_index_rebuild() is None:
            raise AssertionError("another process holds the GEO rebuild lock")

    def read_rows() -> None:
        # What the rebuild reads, and nothing else: the floor for any rebuild from Postgres.
        sharing = User.objects.filter(latitude__isnull=False, is_active=True)
        list(sharing.values_list("pk", "latitude", "longitude").order_by().iterator(chunk_size=5000))

    rebuild_ms = timed_ms(rebuild, repeat=REBUILD_REPEAT, warmup=1)
    read_ms = timed_ms(read_rows, repeat=REBUILD_REPEAT, warmup=1)
    indexed = geo.size()
    per_user = geo.memory_usage() / indexed if indexed else math.nan
    exact = int(feeds().memory_usage(geo.KEY, samples=0) or 0) / indexed if indexed else math.nan
    rng = random.Random(11)
    candidates = list(User.objects.filter(is_staff=False).values_list("id", flat=True))
    with_feed = [uid for uid in rng.sample(candidates, min(len(candidates), 3000)) if store.exists(user_id=uid)][:1000]
    feed_bytes = statistics.mean(store.memory_usage(user_id=uid) for uid in with_feed) if with_feed else None
    return [
        Figure(
            "discover",
            f"GEO index rebuild, {indexed:,} sharers: median",
            statistics.median(rebuild_ms),
            "ms",
            baseline=statistics.median(read_ms),
            baseline_name="reading the same rows from Postgres only",
            notes=f"median of {REBUILD_REPEAT}; accounts.services.geo_index_rebuild (read, GEOADD 2,000 a call, "
            "rename, replay of recent changes)",
        ),
        Figure(
            "discover",
            "GEO index bytes per indexed user",
            per_user,
            "bytes",
            baseline=feed_bytes,
            baseline_name=f"Redis bytes per home feed ({len(with_feed):,} sampled)",
            notes=f"geo.memory_usage() / geo.size(); counting every member (MEMORY USAGE SAMPLES 0): {exact:.1f}",
        ),
    ]


def run(ctx: Context) -> list[Figure]:
    rng = random.Random(13)
    return _two_hop(ctx, rng) + _nearby(ctx, rng) + _geo_index(ctx)
