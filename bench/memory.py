"""Section "memory" (Redis part): bytes per feed and per entry, beside an 800-id feed (Mastodon's
cap) measured on the same server; the row cache (issue 15): bytes per cached tweet row (`tc:*`)
and author row (`uc:*`) beside the same rows in Postgres, and what one page read per active user
adds to used_memory, beside the feed keys those users already had. Patterns that match nothing
are reported as absent, not as a failure: the row cache may not exist yet. The avatar part (peak
memory of one upload, issue 17) is in bench/avatar.py."""

from __future__ import annotations

import random

from django.conf import settings
from django.db import connection

from accounts.models import User
from bench import avatar
from bench.core import Context, Figure
from timelines import store
from timelines.selectors import home_timeline
from tweethub.redis import feed_shards, feeds
from tweets.models import Tweet

ROW_CACHE = (("tc:*", "tweet", Tweet), ("uc:*", "author", User))  # pattern, row, the Postgres table
SAMPLE = 1000  # keys weighed with MEMORY USAGE per pattern


def _sampled_feed_sizes(sample: int) -> tuple[list[int], list[int]]:
    shards = feed_shards()
    ids = list(User.objects.filter(is_staff=False).values_list("id", flat=True))
    rng = random.Random(5)
    chosen = [user_id for user_id in rng.sample(ids, min(len(ids), sample * 3)) if store.exists(user_id=user_id)]
    chosen = chosen[:sample]
    sizes = [store.memory_usage(user_id=user_id) for user_id in chosen]
    # Minus the floor member each feed holds (timelines.store.FLOOR_MEMBER).
    lengths = [int(shards.client(user_id).zcard(store.feed_key(user_id))) - 1 for user_id in chosen]
    return sizes, lengths


def _synthetic_feed(entries: int, *, floor: bool = False) -> int:
    """MEMORY USAGE of a sorted set of `entries` realistic ids, and with `floor` the floor member."""
    client = feeds()
    key = "benchraw:feed"
    base = 400_000_000_000_000  # realistic 53-bit ids (about 2026)
    members = {str(base + n * 4096): base + n * 4096 for n in range(entries)}
    if floor:
        members[store.FLOOR_MEMBER] = base - 1
    client.zadd(key, members)
    size = int(client.memory_usage(key) or 0)
    client.unlink(key)
    return size


def _postgres_row_bytes(table: str) -> float:
    """Heap bytes per row of a table (no indexes, no TOAST): what one row costs where it is true."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_relation_size(c.oid)::float8 / greatest(c.reltuples, 1) FROM pg_class c"
            " WHERE c.oid = %s::regclass",
            [table],
        )
        (size,) = cursor.fetchone()
    return float(size)


def _row_cache_figures() -> list[Figure]:
    client, rng, figures = feeds(), random.Random(9), []
    for pattern, row, model in ROW_CACHE:
        keys = list(client.scan_iter(match=pattern, count=10_000))
        sample = rng.sample(keys, min(SAMPLE, len(keys)))
        pipe = client.pipeline(transaction=False)
        for key in sample:
            pipe.memory_usage(key)
        sizes = [int(size or 0) for size in pipe.execute()] if sample else []
        figures.append(
            Figure(
                "memory",
                f"Redis bytes per cached {row} row ({pattern})",
                sum(sizes) / len(sizes) if sizes else 0,
                "bytes",
                baseline=_postgres_row_bytes(model._meta.db_table),
                baseline_name=f"Postgres heap bytes per {model._meta.db_table} row (no indexes)",
                notes=f"MEMORY USAGE of {len(sample):,} of {len(keys):,} keys"
                if keys
                else f"absent: no key matches {pattern}",
                extra={"keys": len(keys), "sampled": len(sample)},
            )
        )
    return figures


def _first_page_reads(ctx: Context) -> list[Figure]:
    """used_memory before and after one page read each for users who have a feed and have not read
    since the seed: the rows and anything else a read leaves in Redis."""
    client, limit = feeds(), settings.TIMELINE_PAGE_SIZE
    ids = list(
        User.objects.filter(is_staff=False).order_by("-id").values_list("id", flat=True)[: ctx.scale.memory_users * 4]
    )
    users = [user_id for user_id in ids if store.exists(user_id=user_id)][: ctx.scale.memory_users]
    feed_bytes = sum(store.memory_usage(user_id=user_id) for user_id in users)
    before = int(client.info("memory")["used_memory"])
    for user_id in users:
        home_timeline(user_id=user_id, before=None, limit=limit)
    grown = int(client.info("memory")["used_memory"]) - before
    n = max(1, len(users))
    notes = f"{len(users):,} users with a feed, one home_timeline page each, used_memory after - before"
    return [
        Figure(
            "memory",
            "Redis used_memory growth per 1,000 active users after one page read each",
            grown * 1000 / n / 1024,
            "KiB",
            baseline=feed_bytes * 1000 / n / 1024,
            baseline_name="the feeds (tl:, the floor inside) of the same users, MEMORY USAGE",
            notes=notes + " (rows shared by several pages count once)",
            extra={"users": len(users), "grown_bytes": grown, "feed_bytes": feed_bytes},
        ),
        Figure(
            "memory",
            "Redis bytes per active user: feed keys + growth from a page read",
            (feed_bytes + grown) / n,
            "bytes",
            baseline=feed_bytes / n,
            baseline_name="the feed keys alone",
            notes=notes,
        ),
    ]


def run(ctx: Context) -> list[Figure]:
    ctx.say("memory: first page reads of active users, Redis used_memory")
    row_figures = _first_page_reads(ctx)
    row_figures += _row_cache_figures()
    ctx.say("memory: sampling feed sizes")
    sizes, lengths = _sampled_feed_sizes(1000)
    mean = sum(sizes) / len(sizes)
    per_entry = sum(sizes) / max(1, sum(lengths))
    largest_ids = settings.TIMELINE_LENGTH + settings.TIMELINE_TRIM_SLACK
    largest = _synthetic_feed(largest_ids, floor=True)
    mastodon = _synthetic_feed(800)
    info = feeds().info("memory")
    keyspace = feeds().info("keyspace")
    avatar_figures = avatar.figures(ctx)
    return [
        *row_figures,
        Figure(
            "memory",
            f"Redis bytes per feed at its largest ({largest_ids} ids + floor)",
            largest,
            "bytes",
            baseline=mastodon,
            baseline_name="one 800-id sorted set (Mastodon's cap)",
            target="<= 2048 bytes per active user",
            met=largest <= 2048,
            notes="TIMELINE_LENGTH + TIMELINE_TRIM_SLACK ids, the most a feed holds; older tweets come from Postgres",
        ),
        Figure(
            "memory",
            "Redis bytes per feed, sampled after seeding",
            mean,
            "bytes",
            baseline=mastodon,
            baseline_name="one 800-id sorted set",
            notes=f"MEMORY USAGE of tl: (floor inside) for {len(sizes)} feeds, mean length "
            f"{sum(lengths) / max(1, len(lengths)):.0f}",
        ),
        Figure(
            "memory",
            "Redis bytes per feed entry",
            per_entry,
            "bytes",
            baseline=mastodon / 800,
            baseline_name="800-id set",
        ),
        Figure(
            "memory",
            "Valkey used_memory",
            int(info["used_memory"]) / 2**20,
            "MiB",
            notes=f"keyspace {keyspace}",
        ),
        *avatar_figures,
    ]
