"""Postgres writes per tweet and per follow, for the capacity model (run by the postgres section).

N calls of the real services (tweet_create, follow_create; their after-commit effects included, the
outbox send and its row's delete among them), with the WAL position and the table statistics read
before and after; the baseline is N bare INSERTs of the same row. Only this connection writes while
it runs, but autovacuum and checkpoints do not stop: their WAL lands in the figure too (full-page
images after a checkpoint are a real cost of writes, so they are not excluded).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.db import connection
from django.test.utils import override_settings

from accounts.models import User
from bench.core import Context, Figure
from bench.data import users_create
from follows.services import follow_create
from tweets.models import Tweet
from tweets.services import tweet_create

_ROWS_SQL = (
    "SELECT coalesce(sum(n_tup_ins), 0), coalesce(sum(n_tup_upd), 0), coalesce(sum(n_tup_del), 0)"
    " FROM pg_stat_user_tables"
)
_LOADED = "machine shared with other work while measured"


@dataclass(frozen=True)
class Writes:
    wal_bytes: int
    inserted: int
    updated: int
    deleted: int

    @property
    def rows(self) -> int:
        return self.inserted + self.updated + self.deleted


def _position() -> tuple[str, tuple[int, int, int]]:
    """(WAL insert LSN, table row counters) now, with this backend's pending statistics flushed first.
    The insert position, not pg_current_wal_lsn's write position: with synchronous_commit off (as
    devstack runs) the write position trails by whole pages and a short run would read 0."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_force_next_flush()")  # PG 15+: flushed as this statement ends
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(_ROWS_SQL)
        ins, upd, dele = cursor.fetchone()
        cursor.execute("SELECT pg_current_wal_insert_lsn()::text")
        (lsn,) = cursor.fetchone()
    return lsn, (int(ins), int(upd), int(dele))


def measure(work: Callable[[], None]) -> Writes:
    lsn, before = _position()
    work()
    lsn_after, after = _position()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_wal_lsn_diff(%s::pg_lsn, %s::pg_lsn)", [lsn_after, lsn])
        (wal,) = cursor.fetchone()
    return Writes(int(wal), *(b - a for a, b in zip(before, after, strict=True)))


def _figures(what: str, calls: int, ours: Writes, bare: Writes, service: str) -> list[Figure]:
    extra = {"calls": calls, "inserted": ours.inserted, "updated": ours.updated, "deleted": ours.deleted,
             "wal_bytes": ours.wal_bytes}  # fmt: skip
    return [
        Figure("postgres", f"WAL bytes per {what}", ours.wal_bytes / calls, "bytes", baseline=bare.wal_bytes / calls,
               baseline_name=f"a bare INSERT of the {what}'s row", extra=extra,
               notes=f"{calls:,} calls of {service}; pg_wal_lsn_diff, background WAL included; {_LOADED}"),
        Figure("postgres", f"rows written per {what}", ours.rows / calls, "rows", baseline=bare.rows / calls,
               baseline_name=f"a bare INSERT of the {what}'s row", extra=extra,
               notes=f"{calls:,} calls of {service}; pg_stat_user_tables inserts + updates + deletes"),
    ]  # fmt: skip


def run(ctx: Context) -> list[Figure]:
    calls = {"full": 400, "quick": 100}.get(ctx.scale.name, 10)
    users = list(User.objects.filter(pk__in=users_create(prefix="pgw", count=calls)).order_by("pk"))
    # Several followees, so the follows spread as a day's do (not all on one account's shards).
    followees = users[: max(1, calls // 20)]
    pairs = [(follower, followees[n % len(followees)]) for n, follower in enumerate(users[len(followees) :])]

    def bare_tweets() -> None:
        for user in users:
            Tweet.objects.create(author=user, text="bench bare row")

    def tweets() -> None:
        for n, user in enumerate(users):
            tweet_create(author=user, text=f"bench writes #pgw{n % 7}")

    def bare_follows() -> None:
        with connection.cursor() as cursor:
            for follower, followee in pairs:
                cursor.execute(
                    "INSERT INTO follows_follow (follower_id, followee_id, created_at) VALUES (%s, %s, now())",
                    [follower.pk, followee.pk],
                )

    def follows() -> None:
        for follower, followee in pairs:
            follow_create(follower=follower, followee=followee)

    limits = {"RATE_LIMIT_TWEETS_PER_USER": f"{calls}/1h", "RATE_LIMIT_FOLLOWS_PER_USER": f"{calls}/1h"}
    with override_settings(**limits):
        measured = {name: measure(work) for name, work in (("bare tweets", bare_tweets), ("tweets", tweets))}
        measured["bare follows"] = measure(bare_follows)
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM follows_follow WHERE follower_id = ANY(%s)", [[f.pk for f, _ in pairs]])
        measured["follows"] = measure(follows)
    ctx.say(f"postgres writes ({calls} calls each): {measured}")
    follow_calls = len(pairs)
    return _figures("tweet", calls, measured["tweets"], measured["bare tweets"], "tweets.services.tweet_create") + (
        _figures(
            "follow", follow_calls, measured["follows"], measured["bare follows"], "follows.services.follow_create"
        )
    )
