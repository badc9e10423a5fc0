"""Loading rows with psycopg COPY, one transaction per phase, then counters and derived Redis state."""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.backends.utils import CursorWrapper
from django.utils import timezone

from accounts.models import DmPolicy, FanoutMode
from adminpanel.seed.common import Meter, Progress, SeedError
from timelines.services import author_lists_build_all, feeds_bulk_build
from tweethub.ids import EPOCH, SEQUENCE_BITS, id_for_time
from tweets import trends
from tweets.parsing import tokens

# Tweet ids one millisecond can hold (the id's sequence field).
_SEQUENCES = 1 << SEQUENCE_BITS

# --- Loading: COPY into the tables --------------------------------------------------------------


@dataclass
class UserRow:
    id: int
    username: str
    name: str
    email: str
    bio: str
    date_joined: datetime
    last_active: datetime | None
    verified_at: datetime | None
    password: str
    # A shared position ("people nearby"), snapped like accounts.services.location_share; both or neither.
    latitude: float | None = None
    longitude: float | None = None
    location_updated_at: datetime | None = None


def _load_settings(cursor: CursorWrapper) -> None:
    """Bulk statements run far past the site's statement timeout; these settings end with the
    transaction."""
    cursor.execute("SET LOCAL statement_timeout = 0")
    cursor.execute("SET LOCAL synchronous_commit = off")


def reserve_user_ids(count: int) -> list[int]:
    """`count` fresh ids from the users' identity sequence: ours, whatever runs concurrently."""
    if count == 0:
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence('accounts_user', 'id')) FROM generate_series(1, %s)", [count]
        )
        return sorted(row[0] for row in cursor.fetchall())


def copy_users(rows: Iterable[UserRow], meter: Meter) -> None:
    """COPY accounts (active, not staff, DMs from everyone) in one transaction; ids come from reserve_user_ids."""
    columns = (
        "id, password, is_superuser, is_staff, is_active, date_joined, username, name, email, bio, location, "
        "website, avatar, last_active, verified_at, dm_policy, latitude, longitude, location_updated_at"
    )
    types = ["int8", "varchar", "bool", "bool", "bool", "timestamptz", "varchar", "varchar", "varchar", "varchar"]
    types += ["varchar", "varchar", "varchar", "timestamptz", "timestamptz", "varchar"]
    types += ["float8", "float8", "timestamptz"]  # latitude, longitude, location_updated_at
    with transaction.atomic(), connection.cursor() as cursor:
        _load_settings(cursor)
        with cursor.cursor.copy(f"COPY accounts_user ({columns}) FROM STDIN") as copy:
            copy.set_types(types)
            for row in rows:
                copy.write_row(
                    (
                        row.id, row.password, False, False, True, row.date_joined, row.username, row.name,
                        row.email, row.bio, "", "", "", row.last_active, row.verified_at, DmPolicy.EVERYONE.value,
                        row.latitude, row.longitude, row.location_updated_at,
                    )
                )  # fmt: skip
                meter.advance()


# Loads at least this big rebuild the follows indexes that the load would fill in random order.
INDEX_REBUILD_MIN_ROWS = 500_000


def _random_order_indexes(cursor: CursorWrapper, table: str, leading: str) -> list[tuple[str, str]]:
    """(name, CREATE INDEX statement) of the plain indexes of `table` that start with column
    `leading`: rows arriving sorted by another column land all over them. Indexes behind a
    constraint (primary key, unique pair) are never among them."""
    cursor.execute(
        """
        SELECT c.relname, pg_get_indexdef(i.indexrelid)
        FROM pg_index i
        JOIN pg_class c ON c.oid = i.indexrelid
        JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
        WHERE i.indrelid = %s::regclass AND a.attname = %s AND NOT i.indisunique AND NOT i.indisprimary
            AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)
        ORDER BY c.relname
        """,
        [table, leading],
    )
    return [(name, definition) for name, definition in cursor.fetchall()]


def copy_follows(lines: Iterator[tuple[int, str]], meter: Meter, *, rows: int) -> int:
    """COPY follows from ready-made text lines (follower, followee, created_at), yielded in
    chunks of (rows, text), sorted by follower then followee. Returns the rows written.

    Sorted so, the primary key, the unique pair and the follower indexes grow at their right
    edge; the followee-first indexes would take every row at a random place, which costs more
    than the rest of the load once they outgrow shared buffers. So a big load (INDEX_REBUILD_MIN_ROWS
    and at least as many rows as the table holds) drops those indexes and builds them again
    afterwards, in the same transaction: a failure rolls back to the indexes as they were. That
    holds an exclusive lock on follows_follow for the whole load (the site's follow reads wait);
    the foreign keys are checked row by row as always (immediately, so the index can be built).
    """
    written = 0
    table = "follows_follow"
    with transaction.atomic(), connection.cursor() as cursor:
        _load_settings(cursor)
        cursor.execute("SELECT reltuples FROM pg_class WHERE oid = %s::regclass", [table])
        (present,) = cursor.fetchone()
        rebuild: list[tuple[str, str]] = []
        if rows >= INDEX_REBUILD_MIN_ROWS and rows >= present:
            rebuild = _random_order_indexes(cursor, table, "followee_id")
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no pending checks before CREATE INDEX
            cursor.execute("SET LOCAL maintenance_work_mem = '1GB'")
            for name, _definition in rebuild:
                cursor.execute(f'DROP INDEX "{name}"')
        with cursor.cursor.copy(f"COPY {table} (follower_id, followee_id, created_at) FROM STDIN") as copy:
            for count, chunk in lines:
                copy.write(chunk)
                written += count
                meter.advance(count)
        for _name, definition in rebuild:
            cursor.execute(definition)
    return written


@dataclass
class TweetRow:
    id: int
    author_id: int
    text: str
    created_at: datetime


def parsed(text: str) -> tuple[list[str], list[str]]:
    """(tags, mentions) exactly as tweets.parsing.hashtags() and mentions() give them, from one
    pass of its tokenizer (the same tokens both functions read). Text without '#' or '@' holds
    neither, so it skips the tokenizer, the slow part of a million-tweet load."""
    if "#" not in text and "@" not in text:
        return [], []
    tags: dict[str, None] = {}
    names: dict[str, None] = {}
    for token in tokens(text):
        if token.kind == "tag":
            tags[token.value] = None
        elif token.kind == "mention":
            names[token.value] = None
    return list(tags), list(names)


def copy_tweets(rows: Iterable[TweetRow], meter: Meter) -> int:
    """COPY tweets with their parsed tags and mentions in one transaction. Returns the rows written."""
    written = 0
    with transaction.atomic(), connection.cursor() as cursor:
        _load_settings(cursor)
        # `search` is a generated column: Postgres fills it.
        sql = "COPY tweets_tweet (id, author_id, text, tags, mentions, created_at, pinned) FROM STDIN"
        with cursor.cursor.copy(sql) as copy:
            copy.set_types(["int8", "int8", "text", "varchar[]", "varchar[]", "timestamptz", "bool"])
            for row in rows:
                tags, mentions = parsed(row.text)
                copy.write_row((row.id, row.author_id, row.text, tags, mentions, row.created_at, False))
                written += 1
                meter.advance()
    return written


def insert_stats(user_ids: Sequence[int]) -> None:
    """Exact counters for these (new) users in one statement, celebrities straight in pull mode.

    The ids go through an analysed temporary table: from an unnest() the planner would guess ten
    rows and probe the follows index 100K times instead of hashing one scan."""
    with transaction.atomic(), connection.cursor() as cursor:
        _load_settings(cursor)
        cursor.execute(
            "CREATE TEMPORARY TABLE seed_ids ON COMMIT DROP AS SELECT unnest(%s::bigint[]) AS id", [list(user_ids)]
        )
        cursor.execute("ANALYZE seed_ids")
        cursor.execute(
            """
            WITH followers AS (
                SELECT f.followee_id AS id, count(*) AS n FROM follows_follow f JOIN seed_ids s ON f.followee_id = s.id
                GROUP BY 1
            ), following AS (
                SELECT f.follower_id AS id, count(*) AS n FROM follows_follow f JOIN seed_ids s ON f.follower_id = s.id
                GROUP BY 1
            ), posted AS (
                SELECT t.author_id AS id, count(*) AS n FROM tweets_tweet t JOIN seed_ids s ON t.author_id = s.id
                WHERE t.repost_of IS NULL  -- a repost is no tweet of its author's (tweets.reposts)
                GROUP BY 1
            )
            INSERT INTO accounts_userstats AS s (user_id, followers, following, tweets, fanout_mode)
            SELECT seed_ids.id, coalesce(followers.n, 0), coalesce(following.n, 0), coalesce(posted.n, 0),
                   CASE WHEN coalesce(followers.n, 0) > %(threshold)s THEN %(pull)s ELSE %(push)s END
            FROM seed_ids
            LEFT JOIN followers USING (id) LEFT JOIN following USING (id) LEFT JOIN posted USING (id)
            ON CONFLICT (user_id) DO UPDATE SET followers = EXCLUDED.followers, following = EXCLUDED.following,
                tweets = EXCLUDED.tweets, fanout_mode = EXCLUDED.fanout_mode
            """,
            {"threshold": settings.CELEBRITY_THRESHOLD, "pull": FanoutMode.PULL.value, "push": FanoutMode.PUSH.value},
        )
        cursor.execute("DROP TABLE seed_ids")  # now, not at commit: the caller's transaction may go on


def tidy(*tables: str) -> None:
    """Fresh planner statistics for bulk-loaded tables, so the next phases (and the site) get
    sensible plans at once. Outside a transaction also VACUUM: it sets the visibility map that
    index-only scans need, now rather than when autovacuum would wake up in the middle of a
    later phase or benchmark."""
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"{'ANALYZE' if connection.in_atomic_block else 'VACUUM (ANALYZE)'} {table}")


def build_derived(active_ids: list[int], say: Progress) -> int:
    """Home feeds of the active users and the trend counts of the last 24 hours (Redis)."""
    meter = Meter("feeds", len(active_ids), say, "feeds")
    # One call, no progress inside it: feeds_bulk_build reads each author's newest tweets once per
    # call, and calling it in parts for the sake of a progress bar cost a third more time.
    meter.start()
    written = feeds_bulk_build(user_ids=active_ids)
    author_lists_build_all()  # the celebrities' lists, which readers merge from
    counted = trends.recount()
    meter.finish(f"(+ trends from {counted:,} tweets of the last 24 h)")
    return written


def moment_at(us: int) -> datetime:
    """The instant `us` microseconds after the id epoch (exact: no float on the way)."""
    return EPOCH + timedelta(microseconds=us)


def current_us() -> int:
    """Now, in microseconds after the id epoch (the clock every seed time is read against)."""
    return (timezone.now() - EPOCH) // timedelta(microseconds=1)


def existing_ids(low_us: int, high_us: int) -> set[int]:
    """Ids of tweets already in the database inside the window: ours must not take them."""
    low, high = id_for_time(moment_at(low_us)), id_for_time(moment_at(high_us), _SEQUENCES - 1)
    with connection.cursor() as cursor:
        cursor.execute("SELECT id FROM tweets_tweet WHERE id BETWEEN %s AND %s", [low, high])
        return {row[0] for row in cursor.fetchall()}


def tweet_rows(plan: Iterable[tuple[int, int, str]], *, existing: set[int]) -> Iterator[TweetRow]:
    """Rows from (time in us since the id epoch, author id, text), sorted by time.

    Times land strictly inside their millisecond (never on its first microsecond) so that
    id_for_time's float arithmetic cannot round down into the previous millisecond; within a
    millisecond the sequence follows time, so id order IS created_at order."""
    last_ms, sequence = -1, 0
    for us, author_id, text in plan:
        ms = us // 1000
        sequence = sequence + 1 if ms == last_ms else 0
        last_ms = ms
        moment = moment_at(us)
        while sequence < _SEQUENCES and (tweet_id := id_for_time(moment, sequence)) in existing:
            sequence += 1
        if sequence >= _SEQUENCES:
            raise SeedError(f"more than {_SEQUENCES} tweets in one millisecond: spread them over more days")
        yield TweetRow(id=tweet_id, author_id=author_id, text=text, created_at=moment)


def inside_ms(us: int, rng: random.Random) -> int:
    """`us` moved to a random microsecond 1..999 of its millisecond (see tweet_rows)."""
    return us - us % 1000 + rng.randint(1, 999)
