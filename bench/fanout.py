"""Section 1, fan-out: feed inserts per second and commit-to-last-feed time, beside raw Redis.

For each size N, an author with exactly N active followers (each with a full feed, so every push
also trims, as in steady state) posts tweets; fanout_tweet runs in this process, timed from the
tweet's commit to its return (the moment the last feed was written). A Celery worker adds its
queue hop on top; the realtime section measures that end to end.

Baselines on the same Valkey server and the same number of keys, each holding a copy of a real
feed (so the sets have the same size and encoding):
  - redis-py pipeline: one plain ZADD per feed, 1,000 per round trip: the issue's "tight
    redis-py pipeline", the best a client sending commands can do;
  - bare Lua: one EVAL per 1,000 feeds whose body is only ZADD: the server-side ceiling for
    writing one member into N sets, with none of our floor/trim/buffer logic.

Sharded feeds (FEEDS_REDIS_URLS, tweethub.redis.FeedShards): the largest author's followers' feeds
are copied onto private feed servers started for it, and the same fan-out runs with feeds on ONE
of them, then on TWO (each takes the followers of its slots; the two calls of a batch run at once).
The ratio is how the total rate scales with a second server on this machine: both servers, the
worker's Python and Postgres share its two cores, so it measures the client's concurrency and
grouping more than what two separate machines would give.
"""

from __future__ import annotations

import contextlib
import shutil
import statistics
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from django.conf import settings
from django.test.utils import override_settings

from accounts.models import FanoutMode, UserStats
from bench.core import Context, Figure
from bench.data import active_users_with_feeds, follows_create, users_create
from devstack.servers import Redis, short_runtime_dir
from timelines import services as timeline_services
from timelines import store
from tweethub.redis import feed_shards, feeds
from tweets.models import Tweet

_BARE_ZADD = """
for i = 1, #KEYS do
  redis.call('ZADD', KEYS[i], ARGV[1], ARGV[1])
end
return #KEYS
"""
_RAW = "benchraw:{%d}"


def _raw_keys(user_ids: list[int]) -> list[str]:
    """Copies of these users' feeds under throwaway keys (COPY keeps the encoding)."""
    client = feeds()
    keys = [_RAW % user_id for user_id in user_ids]
    for start in range(0, len(user_ids), 1000):
        pipe = client.pipeline(transaction=False)
        for user_id, key in zip(user_ids[start : start + 1000], keys[start : start + 1000], strict=True):
            pipe.copy(f"tl:{{{user_id}}}", key, replace=True)
        pipe.execute()
    return keys


def _drop(keys: list[str]) -> None:
    client = feeds()
    for start in range(0, len(keys), 1000):
        client.unlink(*keys[start : start + 1000])


def _pipelined_zadd(keys: list[str], member: int) -> float:
    pipe = feeds().pipeline(transaction=False)
    started = time.perf_counter()
    for start in range(0, len(keys), 1000):
        for key in keys[start : start + 1000]:
            pipe.zadd(key, {str(member): member})
        pipe.execute()
    return time.perf_counter() - started


def _bare_lua(keys: list[str], member: int) -> float:
    script = feeds().register_script(_BARE_ZADD)
    started = time.perf_counter()
    for start in range(0, len(keys), 1000):
        script(keys=keys[start : start + 1000], args=[member])
    return time.perf_counter() - started


def _author_with_followers(count: int, *, taken: set[int]) -> tuple[int, list[int]]:
    (author,) = users_create(prefix=f"fan{count}x", count=1)
    followers = active_users_with_feeds(count=count, exclude=taken | {author})
    follows_create(pairs=[(follower, author) for follower in followers])
    # Push mode whatever the audience: this measures the write path (CELEBRITY_THRESHOLD would
    # put a real 10K+ account in pull mode; see the notes of the figure).
    UserStats.objects.filter(user_id=author).update(fanout_mode=FanoutMode.PUSH)
    return author, followers


def _one_fanout(author: int, n: int) -> tuple[float, int]:
    tweet = Tweet.objects.create(author_id=author, text=f"bench fan-out {n}")  # autocommit: committed here
    started = time.perf_counter()
    result = timeline_services.fanout_tweet(tweet_id=tweet.pk)
    elapsed = time.perf_counter() - started
    assert result is not None
    return elapsed, len(result.reached)


@contextlib.contextmanager
def _private_feed_servers(count: int) -> Iterator[list[str]]:
    """`count` throwaway Valkey servers (as devstack starts them), their URLs; stopped afterwards."""
    root = Path(tempfile.mkdtemp(prefix="bench-feed-servers-"))
    sockets = short_runtime_dir(f"bench-feed-servers:{root}")
    servers = [
        Redis(
            name=f"feed-server-{n}",
            log_path=root / f"{n}.log",
            data_dir=root / f"data-{n}",
            socket_path=sockets / f"{n}.sock",
            persist=False,
        )
        for n in range(count)
    ]
    try:
        for server in servers:
            server.start()
        yield [server.url for server in servers]
    finally:
        for server in servers:
            server.stop()
        shutil.rmtree(root, ignore_errors=True)
        shutil.rmtree(sockets, ignore_errors=True)


def _copy_feeds(user_ids: list[int]) -> None:
    """Copy these users' feeds from the bench's Redis onto the feed servers now configured (DUMP and
    RESTORE: same contents, encoding and lifetime)."""
    source = feeds()
    for start in range(0, len(user_ids), 1000):
        batch = user_ids[start : start + 1000]
        pipe = source.pipeline(transaction=False)
        for user_id in batch:
            pipe.dump(store.feed_key(user_id))
            pipe.pttl(store.feed_key(user_id))
        dumped = pipe.execute()
        shards = feed_shards()
        pipes = {}
        for n, user_id in enumerate(batch):
            payload, ttl = dumped[2 * n], dumped[2 * n + 1]
            if payload is None:
                continue
            node = shards.node(user_id)
            if node not in pipes:
                pipes[node] = node.pipeline(transaction=False)
            pipes[node].restore(store.feed_key(user_id), max(int(ttl), 0), payload, replace=True)
        for pipe in pipes.values():
            pipe.execute()


def _sharded_figures(ctx: Context, author: int, followers: list[int], rounds: int) -> list[Figure]:
    ctx.say(f"fan-out: {len(followers):,} followers with feeds on 1, then 2 private feed servers")
    rates: dict[int, float] = {}
    with _private_feed_servers(2) as urls:
        for count in (1, 2):
            with override_settings(FEEDS_REDIS_URLS=urls[:count]):
                _copy_feeds(followers)
                results = [_one_fanout(author, n) for n in range(rounds + 1)][1:]
                rates[count] = results[0][1] / statistics.median(elapsed for elapsed, _ in results)
                for node in feed_shards().nodes():
                    node.flushall()
    label = f"{len(followers):,} active followers"
    return [
        Figure(
            "fanout",
            f"{label}, feeds on 2 servers: feed inserts/s",
            rates[2],
            "inserts/s",
            baseline=rates[1],
            baseline_name="the same fan-out with feeds on 1 of those servers",
            notes=f"median of {rounds}; FEEDS_REDIS_URLS, one call per server per batch, sent concurrently; "
            "both servers share this machine's 2 cores with the worker and Postgres",
        )
    ]


def run(ctx: Context) -> list[Figure]:
    figures: list[Figure] = []
    taken: set[int] = set()
    threshold = settings.CELEBRITY_THRESHOLD
    for count in ctx.scale.fanout_followers:
        ctx.say(f"fan-out: author with {count:,} active followers")
        author, followers = _author_with_followers(count, taken=taken)
        rounds = 5 if count <= 10_000 else 3
        results = [_one_fanout(author, n) for n in range(rounds + 1)][1:]  # first one warms up
        seconds = statistics.median(elapsed for elapsed, _ in results)
        reached = results[0][1]
        keys = _raw_keys(followers)
        member = 2**52  # above any real id: lands at the top like a new tweet
        pipe_seconds = statistics.median(_pipelined_zadd(keys, member + n) for n in range(rounds))
        lua_seconds = statistics.median(_bare_lua(keys, member + rounds + n) for n in range(rounds))
        _drop(keys)
        rate = reached / seconds
        pipe_rate, lua_rate = count / pipe_seconds, count / lua_seconds
        label = f"{count:,} active followers"
        mode_note = " (a real account this big is in pull mode)" if count >= threshold else ""
        figures += [
            Figure(
                "fanout",
                f"{label}: feed inserts/s",
                rate,
                "inserts/s",
                baseline=pipe_rate,
                baseline_name="redis-py pipelined ZADD, 1,000 per round trip",
                target=">= 100K/s and >= 50% of baseline",
                met=rate >= 100_000 and rate >= 0.5 * pipe_rate,
                notes=f"median of {rounds}; {reached:,} feeds written per tweet{mode_note}",
            ),
            Figure(
                "fanout",
                f"{label}: inserts/s vs bare Lua ZADD",
                rate,
                "inserts/s",
                baseline=lua_rate,
                baseline_name="bare Lua ZADD loop, 1,000 keys per call (server ceiling)",
            ),
            Figure(
                "fanout",
                f"{label}: commit to last feed written",
                seconds * 1000,
                "ms",
                baseline=lua_seconds * 1000,
                baseline_name="bare Lua ZADD into the same number of feeds",
                target="< 1500 ms" if count >= 100_000 else "",
                met=seconds < 1.5 if count >= 100_000 else None,
                notes="in-process fanout_tweet, no broker hop",
            ),
        ]
        taken |= {author}
        if count == max(ctx.scale.fanout_followers):
            figures += _sharded_figures(ctx, author, followers, rounds)
    return figures
