"""Postgres write paths (issue 20, point 4), each against a baseline in the same run:

- follows of one celebrity from many connections at once: the sharded follower count
  (accounts.services.followers_adjust) against the single counter row it replaced;
- the activity flush on accounts_user: HOT updates now (last_active unindexed) against the same
  flush with the old index on last_active re-created for the measurement;
- the outbox under a burst: dead rows and size of tweethub_outboxtask (its autovacuum settings)
  against a twin table with the default settings, both fed the same backlog and churn.

And what the capacity model (bench/capacity/) charges Postgres per tweet and per follow: WAL bytes
(pg_current_wal_insert_lsn before and after) and rows written (pg_stat_user_tables inserts + updates +
deletes) by N calls of the real services, tweets.services.tweet_create and
follows.services.follow_create, against N bare INSERTs of the same row (the row alone).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from django.db import connection, connections, transaction

from accounts.models import User
from accounts.services import followers_adjust, stats_adjust
from bench import pgwrites
from bench.core import Context, Figure

# The code before issue 20: every follow added to the followee's one UserStats row.
_ONE_ROW_SQL = """
    INSERT INTO accounts_userstats AS s (user_id, followers, following, tweets, fanout_mode)
    VALUES (%s, 1, 0, 0, 'push')
    ON CONFLICT (user_id) DO UPDATE SET followers = s.followers + %s
"""


def _one_row(star: int, delta: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute(_ONE_ROW_SQL, [star, delta])


def _sharded(star: int, follower: int, delta: int) -> None:
    followers_adjust(user_id=star, follower_id=follower, delta=delta)


def _seconds(ctx: Context, full: float, quick: float, tiny: float) -> float:
    return {"full": full, "quick": quick}.get(ctx.scale.name, tiny)


def _follow_churn(
    *, star: int, followers: list[list[int]], seconds: float, count: Callable[[int, int], None]
) -> float:
    """Each thread follows and unfollows `star` with its own followers, one transaction each (the
    follow row, both counters, an outbox row, as follow_create writes), for `seconds`. Returns
    committed transactions per second over all threads."""
    done = [0] * len(followers)
    stop = time.monotonic() + seconds
    start = threading.Barrier(len(followers))

    def work(slot: int) -> None:
        try:
            start.wait(30)
            mine, n = followers[slot], 0
            while time.monotonic() < stop:
                follower = mine[n % len(mine)]
                follow = n // len(mine) % 2 == 0
                with transaction.atomic(), connection.cursor() as cursor:
                    if follow:
                        cursor.execute(
                            "INSERT INTO follows_follow (follower_id, followee_id, created_at) VALUES (%s, %s, now())",
                            [follower, star],
                        )
                    else:
                        cursor.execute(
                            "DELETE FROM follows_follow WHERE follower_id = %s AND followee_id = %s", [follower, star]
                        )
                    delta = 1 if follow else -1
                    count(follower, delta)
                    stats_adjust(user_id=follower, following=delta)
                    cursor.execute("INSERT INTO tweethub_outboxtask (task, args) VALUES ('bench', '[]') RETURNING id")
                    (outbox_id,) = cursor.fetchone() or (0,)
                with connection.cursor() as cursor:
                    cursor.execute("DELETE FROM tweethub_outboxtask WHERE id = %s", [outbox_id])
                n += 1
            done[slot] = n
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work, args=(slot,)) for slot in range(len(followers))]
    began = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(done) / (time.monotonic() - began)


def _unfollow_all(star: int) -> None:
    """Undo what a churn left followed (it may stop half-way through a pass)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE accounts_userstats s SET following = GREATEST(following - 1, 0) FROM follows_follow f"
            " WHERE f.followee_id = %s AND s.user_id = f.follower_id",
            [star],
        )
        cursor.execute("DELETE FROM follows_follow WHERE followee_id = %s", [star])
        cursor.execute("DELETE FROM accounts_followershard WHERE user_id = %s", [star])
        cursor.execute("UPDATE accounts_userstats SET followers = 0 WHERE user_id = %s", [star])


def _celebrity_follows(ctx: Context) -> list[Figure]:
    threads = 4 if ctx.scale.name == "tiny" else 16
    seconds = _seconds(ctx, 8.0, 3.0, 0.5)
    star = User.objects.create(username="pgbench_star", name="Star", email="pgbench_star@example.com")
    ids = list(User.objects.exclude(pk=star.pk).order_by("pk").values_list("pk", flat=True)[: threads * 200])
    followers = [ids[slot::threads] for slot in range(threads)]
    try:
        one_row = _follow_churn(
            star=star.pk, followers=followers, seconds=seconds, count=lambda follower, delta: _one_row(star.pk, delta)
        )
        _unfollow_all(star.pk)
        sharded = _follow_churn(
            star=star.pk,
            followers=followers,
            seconds=seconds,
            count=lambda follower, delta: _sharded(star.pk, follower, delta),
        )
    finally:
        _unfollow_all(star.pk)
        star.delete()
    ctx.say(f"celebrity follows: one row {one_row:,.0f}/s, sharded {sharded:,.0f}/s")
    return [
        Figure(
            "postgres",
            f"follows+unfollows of one account, {threads} connections: transactions/s",
            sharded,
            "txn/s",
            baseline=one_row,
            baseline_name="one counter row (before)",
            notes=f"{seconds:.0f} s each; FOLLOWER_COUNT_SHARDS rows; each txn = follow row, 2 counters, outbox row",
        )
    ]


def _table_stats(cursor: Any, table: str) -> tuple[int, int, int]:
    """(n_dead_tup, heap + index bytes, autovacuum runs) of `table`, fresh (not a cached snapshot)."""
    cursor.execute("SELECT pg_stat_clear_snapshot()")
    cursor.execute(
        "SELECT n_dead_tup, pg_total_relation_size(relid), autovacuum_count FROM pg_stat_user_tables"
        " WHERE relname = %s",
        [table],
    )
    row = cursor.fetchone()
    return int(row[0]), int(row[1]), int(row[2])


def _outbox_burst(ctx: Context) -> list[Figure]:
    """Both tables get a backlog (a broker outage: rows inserted, then drained by the relay), then
    the same steady churn of insert-then-delete, as enqueue and _send_and_forget make it."""
    # Quick and full runs outlast autovacuum_naptime (60 s by default): autovacuum visits each
    # table at most once per naptime, whatever its settings.
    seconds = _seconds(ctx, 75.0, 70.0, 1.0)
    backlog = {"full": 50_000, "quick": 20_000}.get(ctx.scale.name, 500)
    tables = ("tweethub_outboxtask", "bench_outbox_default")
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_outbox_default")
        cursor.execute("CREATE TABLE bench_outbox_default (LIKE tweethub_outboxtask INCLUDING ALL)")
        for table in tables:
            cursor.execute(
                f"INSERT INTO {table} (task, args) SELECT 'bench', '[]' FROM generate_series(1, %s)",  # noqa: S608
                [backlog],
            )
            cursor.execute(f"ANALYZE {table}")
            cursor.execute(f"DELETE FROM {table} WHERE task = 'bench'")  # noqa: S608
    stop = time.monotonic() + seconds
    peaks = {table: [0, 0] for table in tables}
    ops = [0, 0]

    def churn(slot: int) -> None:
        try:
            while time.monotonic() < stop:
                for table in tables:
                    with connection.cursor() as cursor:
                        cursor.execute(f"INSERT INTO {table} (task, args) VALUES ('bench', '[]') RETURNING id")  # noqa: S608
                        (row_id,) = cursor.fetchone() or (0,)
                        cursor.execute(f"DELETE FROM {table} WHERE id = %s", [row_id])  # noqa: S608
                ops[slot] += 1
        finally:
            connections.close_all()

    workers = [threading.Thread(target=churn, args=(slot,)) for slot in range(2)]
    with connection.cursor() as cursor:
        before = {table: _table_stats(cursor, table) for table in tables}
        for worker in workers:
            worker.start()
        while any(worker.is_alive() for worker in workers):
            time.sleep(1.0)
            for table in tables:
                dead, size, _ = _table_stats(cursor, table)
                peaks[table] = [max(peaks[table][0], dead), max(peaks[table][1], size)]
        after = {table: _table_stats(cursor, table) for table in tables}
        cursor.execute("DROP TABLE bench_outbox_default")
    tuned, default = tables
    runs = {table: after[table][2] - before[table][2] for table in tables}
    ctx.say(f"outbox burst: {sum(ops):,} tasks per table in {seconds:.0f} s; peaks {peaks}, autovacuum runs {runs}")
    note = f"{sum(ops):,} insert+delete per table in {seconds:.0f} s after a drained backlog of {backlog:,}"
    return [
        Figure(
            "postgres",
            "outbox burst: peak dead rows",
            peaks[tuned][0],
            "rows",
            baseline=peaks[default][0],
            baseline_name="default autovacuum settings",
            notes=note,
            extra={"autovacuum_runs": runs[tuned], "baseline_autovacuum_runs": runs[default]},
        ),
        Figure(
            "postgres",
            "outbox burst: peak size (heap + index)",
            peaks[tuned][1] / 1024,
            "KiB",
            baseline=peaks[default][1] / 1024,
            baseline_name="default autovacuum settings",
            notes=note,
        ),
    ]


def _hot_share(cursor: Any, ids: list[int]) -> tuple[int, int]:
    """(rows updated, of which HOT) by one flush-shaped UPDATE of last_active, in its own
    transaction. The pg_stat_get_xact_* counters hold what this backend has not reported yet
    (several transactions' worth), so the figure is their change across the UPDATE."""
    counters = (
        "SELECT pg_stat_get_xact_tuples_updated('accounts_user'::regclass),"
        " pg_stat_get_xact_tuples_hot_updated('accounts_user'::regclass)"
    )
    cursor.execute("BEGIN")
    cursor.execute(counters)
    updated_before, hot_before = cursor.fetchone()
    cursor.execute(
        "UPDATE accounts_user SET last_active = now() + random() * interval '1 s' WHERE id = ANY(%s)", [ids]
    )
    cursor.execute(counters)
    updated, hot = cursor.fetchone()
    cursor.execute("COMMIT")
    return int(updated - updated_before), int(hot - hot_before)


def _last_active_hot(ctx: Context) -> list[Figure]:
    """Three flush rounds over a random 5% of users (an active minute each), without the index, then
    the same rounds with the old last_active index. Rounds are separate transactions: pruning
    between them frees room. Unindexed first: the indexed rounds' non-HOT versions fill pages too."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id FROM accounts_user ORDER BY random() LIMIT (SELECT count(*) / 20 FROM accounts_user)"
        )
        sample = [row[0] for row in cursor.fetchall()]
    rounds = [sample[i::3] for i in range(3)]
    shares = {}
    with connection.cursor() as cursor:
        for label in ("unindexed", "indexed"):
            if label == "indexed":
                cursor.execute("CREATE INDEX bench_last_active ON accounts_user (last_active)")
            totals = [0, 0]
            for ids in rounds:
                updated, hot = _hot_share(cursor, ids)
                totals = [totals[0] + updated, totals[1] + hot]
            if label == "indexed":
                cursor.execute("DROP INDEX bench_last_active")
            shares[label] = totals[1] / max(totals[0], 1)
    ctx.say(f"last_active flush HOT share: unindexed {shares['unindexed']:.2f}, indexed {shares['indexed']:.2f}")
    return [
        Figure(
            "postgres",
            "last_active flush: share of HOT updates",
            shares["unindexed"],
            "share",
            baseline=shares["indexed"],
            baseline_name="with the old last_active index",
            notes=f"3 rounds x {len(rounds[0]):,} users; HOT = no index entry written",
        )
    ]


def run(ctx: Context) -> list[Figure]:
    return _celebrity_follows(ctx) + _last_active_hot(ctx) + pgwrites.run(ctx) + _outbox_burst(ctx)
