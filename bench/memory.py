"""Section 5 (Redis part): bytes per feed and per entry, beside an 800-id feed (Mastodon's cap)
measured on the same server, and Valkey's whole used_memory divided by the feeds it holds."""

from __future__ import annotations

import random

from django.conf import settings

from accounts.models import User
from bench.core import Context, Figure
from timelines import store
from tweethub.redis import feeds


def _sampled_feed_sizes(sample: int) -> tuple[list[int], list[int]]:
    client = feeds()
    ids = list(User.objects.filter(is_staff=False).values_list("id", flat=True))
    rng = random.Random(5)
    chosen = [user_id for user_id in rng.sample(ids, min(len(ids), sample * 3)) if store.exists(user_id=user_id)]
    chosen = chosen[:sample]
    sizes = [store.memory_usage(user_id=user_id) for user_id in chosen]
    lengths = [int(client.zcard(f"tl:{{{user_id}}}")) for user_id in chosen]
    return sizes, lengths


def _synthetic_feed(entries: int) -> int:
    """MEMORY USAGE of a sorted set of `entries` realistic ids (the floor key adds ~40 bytes)."""
    client = feeds()
    key = "benchraw:feed"
    base = 400_000_000_000_000  # realistic 53-bit ids (about 2026)
    client.zadd(key, {str(base + n * 4096): base + n * 4096 for n in range(entries)})
    size = int(client.memory_usage(key) or 0)
    client.unlink(key)
    return size


def _floor_key() -> int:
    """MEMORY USAGE of a floor-like string key (tlf:{id} holding a 15-digit tweet id)."""
    client = feeds()
    client.set("tlf:{999999999}", 400_000_000_000_000)
    size = int(client.memory_usage("tlf:{999999999}") or 0)
    client.unlink("tlf:{999999999}")
    return size


def run(ctx: Context) -> list[Figure]:
    ctx.say("memory: sampling feed sizes")
    sizes, lengths = _sampled_feed_sizes(1000)
    mean = sum(sizes) / len(sizes)
    per_entry = sum(sizes) / max(1, sum(lengths))
    largest_ids = settings.TIMELINE_LENGTH + settings.TIMELINE_TRIM_SLACK
    largest = _synthetic_feed(largest_ids) + _floor_key()
    mastodon = _synthetic_feed(800)
    info = feeds().info("memory")
    keyspace = feeds().info("keyspace")
    return [
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
            notes=f"MEMORY USAGE of tl: + tlf: for {len(sizes)} feeds, mean length "
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
    ]
