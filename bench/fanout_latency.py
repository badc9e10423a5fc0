"""Section fanout_latency (issue 20, point 3): a small fan-out's latency while a large one runs, on the
Procfile's workers and queues; the large fan-out in chunks against one task; follower ids read.

- Small fan-out latency: an author with 50 active followers posts (through the outbox, as
  tweet_create does: routed after commit, `fanout` queue); its latency is the worker's own figure,
  commit to last feed written (tweethub.metrics). Idle: one at a time on idle workers. Loaded: one
  every LOADED_SPACING_S while an author with the scale's largest audience (100K at full scale)
  fans out on `fanout_large`, in chunks. Target: loaded p99 / idle p99 below 2.
- The large fan-out on the workers (commit to its last chunk's last feed), against the same
  fan-out in ONE call in this process (no chunks, no queue: bench/fanout's measurement).
- Follower ids read per second for the large author: the server-side cursor that fan-out uses
  (timelines.followers), the 1,000-row keyset pages it used before, and COPY ... TO STDOUT.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterator

from django.conf import settings
from django.db import connection, transaction
from django.test.utils import override_settings

from accounts.models import FanoutMode, User, UserStats
from bench.core import Context, Figure, Target, aim, percentile
from bench.data import active_users_with_feeds, follows_create, users_create
from bench.servers import WorkerChanges, running_procfile_workers
from follows.models import Follow
from timelines import followers, services
from tweethub import metrics, outbox, queues
from tweets.models import Tweet

SMALL = 50
PROCFILE = "as the Procfile runs them"
# Before issue 20: one worker (2 processes) and one queue, each fan-out one task. Emulated with the
# Procfile's first worker consuming every queue and a threshold no author reaches, so small and
# large fan-outs share the `fanout` queue in order.
BEFORE = "before: one worker, one queue, no chunks"
NO_CHUNKS = 10**9
# The Procfile's workers as written (the target's figure), then each change that was weighed: the
# large fan-outs' and rebuilds' workers not niced, two large fan-out processes instead of one, 250
# feeds per Lua call in the chunks, and the setup before issue 20.
VARIANTS = {
    PROCFILE: WorkerChanges(),
    "worker_large and worker_rebuild not niced": WorkerChanges(nice={"worker_large": 0, "worker_rebuild": 0}),
    "worker_large with 2 processes": WorkerChanges(concurrency={"worker_large": 2}),
    "chunks push 250 feeds per Lua call": WorkerChanges(env={"worker_large": {"FANOUT_BATCH_SIZE": "250"}}),
    BEFORE: WorkerChanges(
        only=("worker",),
        queues={"worker": ",".join(queues.NAMES)},
        env={"worker": {"FANOUT_LARGE_THRESHOLD": str(NO_CHUNKS)}},
    ),
}
IDLE_SAMPLES = 40
LOADED_SPACING_S = 0.05
LOADED_ROUNDS = 5


def _author(prefix: str, audience: int, taken: set[int]) -> int:
    (author,) = users_create(prefix=prefix, count=1)
    # Enough accounts first, under this author's own prefix (active_users_with_feeds would make the
    # missing ones under one shared prefix, twice for two authors on unseeded data: a clash).
    others = User.objects.exclude(id__in=taken | {author}).filter(is_staff=False).count()
    if others < audience:
        users_create(prefix=f"{prefix}f", count=audience - others)
    fans = active_users_with_feeds(count=audience, exclude=taken | {author})
    follows_create(pairs=[(fan, author) for fan in fans])
    services.feeds_bulk_build(user_ids=[author])
    # Push mode whatever the audience: the write path is what is measured (bench/fanout says why).
    UserStats.objects.filter(user_id=author).update(fanout_mode=FanoutMode.PUSH)
    taken |= {author, *fans}
    return author


def _post(author: int, text: str) -> None:
    """What tweet_create does for the fan-out: the tweet and its outbox row in one transaction,
    the task routed and published after commit (no rate limit, trends or card: not measured)."""
    with transaction.atomic():
        tweet = Tweet.objects.create(author_id=author, text=text)
        outbox.enqueue("timelines.tasks.fanout_tweet_task", tweet.pk)


def _wait_for(condition: Callable[[], bool], what: str, timeout: float = 300.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"fanout_latency: {what} did not happen within {timeout:.0f} s")
        time.sleep(0.005)


def _since(mark: int) -> list[tuple[float, int]]:
    return metrics.fanout_samples()[mark:]


def _idle_latencies(small: int, most: int) -> list[float]:
    found: list[float] = []
    for n in range(IDLE_SAMPLES + 3):
        mark = len(metrics.fanout_samples())
        _post(small, f"idle {n}")
        _wait_for(lambda mark=mark: bool(_since(mark)), "a small fan-out")  # type: ignore[misc]
        found += [latency for latency, recipients in _since(mark) if recipients == most]
    return found[3:]  # the first ones warm the workers up


def _loaded_round(small: int, large: int, chunks: int, most: int) -> tuple[list[float], float]:
    """Small fan-outs posted every LOADED_SPACING_S while the large one runs: their latencies, and
    the large one's commit to its last chunk. A sample of exactly `most` recipients is a small
    fan-out's, any other one a chunk's (the chunk size is never `most`)."""
    mark = len(metrics.fanout_samples())
    _post(large, "to everyone")
    posted = 0
    deadline = time.monotonic() + 300
    while sum(1 for _, recipients in _since(mark) if recipients != most) < chunks:
        if time.monotonic() > deadline:
            raise TimeoutError(f"fanout_latency: {chunks} chunks not done in 300 s")
        _post(small, f"meanwhile {posted}")
        posted += 1
        time.sleep(LOADED_SPACING_S)
    _wait_for(lambda: sum(1 for _, r in _since(mark) if r == most) >= posted, "the small fan-outs")
    samples = _since(mark)
    small_ms = [latency for latency, recipients in samples if recipients == most]
    large_ms = max(latency for latency, recipients in samples if recipients != most)
    return small_ms, large_ms


def _in_process_ms(large: int) -> float:
    """The large fan-out in one call here (no chunks, no queue): commit to its return."""
    with override_settings(FANOUT_LARGE_THRESHOLD=10**9):
        tweet = Tweet.objects.create(author_id=large, text="in one call")
        started = time.perf_counter()
        services.fanout_tweet(tweet_id=tweet.pk)
        return (time.perf_counter() - started) * 1000


# --- Follower ids read: the cursor (kept), keyset pages (before), COPY (measured, not kept) -------


def _keyset(author: int) -> Iterator[list[int]]:
    after, size = 0, 1000
    while True:
        batch = list(
            Follow.objects.filter(followee_id=author, follower_id__gt=after)
            .order_by("follower_id")
            .values_list("follower_id", flat=True)[:size]
        )
        if batch:
            yield batch
        if len(batch) < size:
            return
        after = batch[-1]


def _copy(author: int) -> Iterator[list[int]]:
    sql = (
        f"COPY (SELECT follower_id FROM {Follow._meta.db_table} WHERE followee_id = %s ORDER BY follower_id) "  # noqa: S608
        "TO STDOUT (FORMAT BINARY)"
    )
    batch: list[int] = []
    with connection.cursor() as cursor, cursor.copy(sql, [author]) as copy:
        copy.set_types(["int8"])
        for (follower,) in copy.rows():
            batch.append(follower)
            if len(batch) == 1000:
                yield batch
                batch = []
    if batch:
        yield batch


def _rows_per_second(read: Callable[[], Iterator[list[int]]]) -> float:
    rounds = []
    for _ in range(5):
        started = time.perf_counter()
        rows = sum(len(batch) for batch in read())
        rounds.append(rows / (time.perf_counter() - started))
    return statistics.median(rounds[1:])


def run(ctx: Context) -> list[Figure]:
    large_audience = max(ctx.scale.fanout_followers)
    small_audience = min(SMALL, large_audience // 2)
    taken: set[int] = set()
    ctx.say(f"fanout_latency: authors with {small_audience} and {large_audience:,} active followers")
    small = _author("fls", small_audience, taken)
    large = _author("fll", large_audience, taken)
    label = f"{large_audience:,}"

    ctx.say("fanout_latency: follower ids read (cursor, keyset pages, COPY)")
    cursor_rate = _rows_per_second(lambda: followers.follower_batches(author_id=large))
    keyset_rate = _rows_per_second(lambda: _keyset(large))
    copy_rate = _rows_per_second(lambda: _copy(large))
    in_process = statistics.median(_in_process_ms(large) for _ in range(3))

    # Below full scale the large audience is under the threshold: scale the threshold and the chunks
    # down with it (here for the router, in the workers' environment for them), so it is chunked.
    tuning = {}
    if large_audience <= settings.FANOUT_LARGE_THRESHOLD:
        tuning = {"FANOUT_LARGE_THRESHOLD": large_audience // 2, "FANOUT_CHUNK_SIZE": max(1, large_audience // 5)}
    most = small_audience + 1  # its followers and its own feed
    figures: list[Figure] = []
    # The smoke test (tiny scale) runs the Procfile's workers only: the others are comparisons.
    variants = {PROCFILE: VARIANTS[PROCFILE]} if ctx.scale.name == "tiny" else VARIANTS
    for variant, changes in variants.items():
        here = {**tuning, "FANOUT_LARGE_THRESHOLD": NO_CHUNKS} if variant == BEFORE else tuning
        env = {key: str(value) for key, value in tuning.items()}
        with override_settings(**here), running_procfile_workers(env=env, changes=changes) as workers:
            chunks = len(followers.follower_ranges(author_id=large, size=settings.FANOUT_CHUNK_SIZE))
            chunk_size = min(settings.FANOUT_CHUNK_SIZE, large_audience)
            if variant == BEFORE:
                chunks, chunk_size = 1, large_audience  # one task, one sample
            ctx.say(f"fanout_latency [{variant}]: {len(workers)} workers up; idle phase")
            idle = _idle_latencies(small, most)
            loaded: list[float] = []
            large_ms: list[float] = []
            for n in range(LOADED_ROUNDS):
                ctx.say(f"fanout_latency [{variant}]: loaded round {n + 1} of {LOADED_ROUNDS}")
                small_ms, whole_ms = _loaded_round(small, large, chunks, most)
                loaded += small_ms
                large_ms.append(whole_ms)
        notes = (
            f"{len(loaded)} fan-outs posted every {LOADED_SPACING_S * 1000:.0f} ms during {LOADED_ROUNDS} "
            f"{label}-follower fan-outs ({chunks} chunk(s) of {chunk_size:,}); workers: {variant}"
        )
        p99 = Figure(
            "fanout_latency",
            f"{small_audience}-follower fan-out latency p99 while a {label} fan-out runs [{variant}]",
            percentile(loaded, 99),
            "ms",
            baseline=percentile(idle, 99),
            baseline_name=f"the same on idle workers, {len(idle)} one at a time",
            notes=notes + "; commit to last feed written, as the worker records it",
        )
        figures += [
            aim(p99, Target("<=", 2, "x")) if variant == PROCFILE else p99,
            Figure(
                "fanout_latency",
                f"{small_audience}-follower fan-out latency p50 while a {label} fan-out runs [{variant}]",
                percentile(loaded, 50),
                "ms",
                baseline=percentile(idle, 50),
                baseline_name="the same on idle workers",
            ),
            Figure(
                "fanout_latency",
                f"{label}-follower fan-out on the workers, commit to last chunk [{variant}]",
                statistics.median(large_ms),
                "ms",
                baseline=in_process,
                baseline_name="the same fan-out in one call in-process, no chunks, no queue (median of 3)",
                notes=f"median of {LOADED_ROUNDS}; {chunks} task(s), small fan-outs beside them",
            ),
        ]
    return [
        *figures,
        Figure(
            "fanout_latency",
            f"follower ids read, {label} followers: server-side cursor (kept)",
            cursor_rate,
            "rows/s",
            baseline=keyset_rate,
            baseline_name="1,000-row keyset pages (before)",
            notes=f"median of 4 after a warm-up; batches of {settings.FANOUT_BATCH_SIZE:,}",
        ),
        Figure(
            "fanout_latency",
            f"follower ids read, {label} followers: COPY TO STDOUT binary (not kept)",
            copy_rate,
            "rows/s",
            baseline=keyset_rate,
            baseline_name="1,000-row keyset pages (before)",
            notes="psycopg hands over one message per row",
        ),
    ]
