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
"""

from __future__ import annotations

import statistics
import time

from django.conf import settings

from accounts.models import FanoutMode, UserStats
from bench.core import Context, Figure
from bench.data import active_users_with_feeds, follows_create, users_create
from timelines import services as timeline_services
from tweethub.redis import feeds
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
    return figures
