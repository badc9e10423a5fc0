"""Exact counters (UserStats, FollowerShard) and the fan-out mode they decide."""

from __future__ import annotations

from django.conf import settings
from django.db import connection, transaction

from accounts.models import FanoutMode, UserStats


def stats_adjust(*, user_id: int, following: int = 0, tweets: int = 0) -> UserStats:
    """Add to a user's own counters (following, tweets), creating the row on first use. Call inside
    the transaction that writes the counted rows, so counts and rows commit (or roll back) together.

    One upsert statement: concurrent callers serialise on the row lock, never lose an increment.
    Only the user's own actions write these two, so that lock is never contended by a crowd.
    Followers go through followers_adjust. The returned `followers` is the folded part only.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO accounts_userstats AS s (user_id, followers, following, tweets, fanout_mode)
            VALUES (%s, 0, GREATEST(%s, 0), GREATEST(%s, 0), 'push')
            ON CONFLICT (user_id) DO UPDATE SET
                following = GREATEST(s.following + EXCLUDED.following + LEAST(%s, 0), 0),
                tweets = GREATEST(s.tweets + EXCLUDED.tweets + LEAST(%s, 0), 0)
            RETURNING user_id, followers, following, tweets, fanout_mode
            """,
            [user_id, following, tweets, following, tweets],
        )
        row = cursor.fetchone()
    assert row is not None
    return UserStats(user_id=row[0], followers=row[1], following=row[2], tweets=row[3], fanout_mode=row[4])


def follower_shard(follower_id: int) -> int:
    """The FollowerShard row a follower's follows and unfollows of anyone go to."""
    return follower_id % settings.FOLLOWER_COUNT_SHARDS


def followers_adjust(*, user_id: int, follower_id: int, delta: int) -> UserStats:
    """Add `delta` to `user_id`'s follower count, on the shard `follower_id` picks; call inside the
    transaction that writes the follow row. Returns the account's counts (not saved) with the
    follower total this transaction sees, and its fan-out mode, for fanout_mode_after_follower_change.

    One statement; it locks one shard row and never the account's UserStats row, so a crowd
    following one account at once spreads over FOLLOWER_COUNT_SHARDS locks. The total is exact
    when nobody else follows the account at the same moment; otherwise it leaves out the others'
    uncommitted changes (which is all the mode decision needs: see there).
    """
    with connection.cursor() as cursor:
        cursor.execute(
            """
            WITH ensured AS (
                -- Every followed account has a UserStats row (its mode lives there). DO NOTHING
                -- takes no lock on a row that exists.
                INSERT INTO accounts_userstats (user_id, followers, following, tweets, fanout_mode)
                VALUES (%(user)s, 0, 0, 0, 'push') ON CONFLICT (user_id) DO NOTHING
            ), bumped AS (
                INSERT INTO accounts_followershard AS f (user_id, shard, followers)
                VALUES (%(user)s, %(shard)s, %(delta)s)
                ON CONFLICT (user_id, shard) DO UPDATE SET followers = f.followers + EXCLUDED.followers
                RETURNING f.followers
            )
            SELECT GREATEST(
                       COALESCE(s.followers, 0) + (SELECT followers FROM bumped) + COALESCE((
                           SELECT sum(o.followers) FROM accounts_followershard o
                           WHERE o.user_id = %(user)s AND o.shard <> %(shard)s), 0),
                   0),
                   COALESCE(s.following, 0), COALESCE(s.tweets, 0), COALESCE(s.fanout_mode, 'push')
            FROM (SELECT 1) AS one LEFT JOIN accounts_userstats s ON s.user_id = %(user)s
            """,
            {"user": user_id, "shard": follower_shard(follower_id), "delta": delta},
        )
        row = cursor.fetchone()
    assert row is not None
    return UserStats(user_id=user_id, followers=row[0], following=row[1], tweets=row[2], fanout_mode=row[3])


def fanout_mode_after_follower_change(*, stats: UserStats) -> str | None:
    """Switch push/pull mode when a follower count crosses the celebrity threshold.

    Called in the follow/unfollow transaction with the counts followers_adjust returned. Returns the
    new mode when it changed, else None. Promotion takes effect at once (readers start merging);
    demotion goes through DEMOTING, and the caller queues the backfill that ends it (timelines), so
    readers keep merging until feeds hold the author's tweets.

    Both modes serve correct timelines; the mode only decides what a tweet costs. So the switch
    never waits: when the account's UserStats row is locked (its owner is tweeting or following
    right now) it is skipped, and, like a crossing made by concurrent follows the total did not
    see yet, it is made by the account's next follow or unfollow. That keeps the follow
    transaction from ever waiting on the followee's row (the hot row this design removes) and
    from any lock cycle with the owner's own follows.
    """
    threshold = settings.CELEBRITY_THRESHOLD
    mode = stats.fanout_mode
    if mode in (FanoutMode.PUSH, FanoutMode.DEMOTING) and stats.followers > threshold:
        new = FanoutMode.PULL
    elif mode == FanoutMode.PULL and stats.followers <= threshold * settings.CELEBRITY_HYSTERESIS:
        new = FanoutMode.DEMOTING
    else:
        return None
    with connection.cursor() as cursor:
        # The row exists unless the account never had counts of its own and no fold ran yet.
        cursor.execute(
            "INSERT INTO accounts_userstats (user_id, followers, following, tweets, fanout_mode)"
            " VALUES (%s, 0, 0, 0, 'push') ON CONFLICT (user_id) DO NOTHING",
            [stats.user_id],
        )
        cursor.execute(
            """
            UPDATE accounts_userstats SET fanout_mode = %(new)s
            WHERE user_id = (SELECT user_id FROM accounts_userstats
                             WHERE user_id = %(user)s AND fanout_mode = %(old)s FOR UPDATE SKIP LOCKED)
            """,
            {"new": str(new), "old": str(mode), "user": stats.user_id},
        )
        changed = cursor.rowcount == 1
    return str(new) if changed else None


def fanout_mode_finish_demotion(*, user_id: int) -> bool:
    """DEMOTING -> PUSH once the backfill is done. A no-op (False) if the account was promoted
    again meanwhile: the compare-and-set keeps a late backfill from undoing a newer decision."""
    return bool(
        UserStats.objects.filter(user_id=user_id, fanout_mode=FanoutMode.DEMOTING).update(fanout_mode=FanoutMode.PUSH)
    )


def fanout_mode_begin_restore(*, user_id: int) -> bool:
    """PUSH -> DEMOTING when a suspension is lifted: readers merge the account's tweets from its
    author list while the demotion backfill (which the caller queues when this returns True) puts
    them back into its followers' feeds. A PULL or DEMOTING account needs nothing: readers merge it
    already. Call in the transaction that lifts the suspension."""
    return bool(
        UserStats.objects.filter(user_id=user_id, fanout_mode=FanoutMode.PUSH).update(fanout_mode=FanoutMode.DEMOTING)
    )


# Folds one batch of accounts. Every lock is taken with SKIP LOCKED, so a fold never waits on a
# follow (or the owner's own writes) and can never be part of a deadlock: what is busy is left for
# the next batch or run. The DELETE returns the values it removed, so what moves into UserStats
# is exactly what leaves the shards, in one transaction: readers (one statement, one snapshot) see
# the count either all in the shards or all folded.
_FOLD_SQL = """
    WITH candidates AS MATERIALIZED (
        SELECT DISTINCT user_id FROM accounts_followershard
        WHERE user_id > %(after)s ORDER BY user_id LIMIT %(batch)s
    ), owners AS MATERIALIZED (
        SELECT s.user_id FROM accounts_userstats s JOIN candidates c ON c.user_id = s.user_id
        FOR UPDATE OF s SKIP LOCKED
    ), picked AS MATERIALIZED (
        SELECT f.user_id, f.shard FROM accounts_followershard f JOIN owners o ON o.user_id = f.user_id
        FOR UPDATE OF f SKIP LOCKED
    ), moved AS (
        DELETE FROM accounts_followershard f USING picked p
        WHERE f.user_id = p.user_id AND f.shard = p.shard
        RETURNING f.user_id, f.followers
    ), sums AS (
        SELECT user_id, sum(followers) AS n FROM moved GROUP BY user_id
    ), folded AS (
        UPDATE accounts_userstats s SET followers = GREATEST(s.followers + sums.n, 0)
        FROM sums WHERE s.user_id = sums.user_id
        RETURNING s.user_id
    )
    SELECT (SELECT count(*) FROM candidates), (SELECT max(user_id) FROM candidates), (SELECT count(*) FROM folded)
"""


def follower_shards_fold(*, batch: int | None = None) -> int:
    """Move the follower-count changes waiting in FollowerShard into UserStats.followers; returns
    how many accounts were folded. Exact counts do not depend on it (readers add the shards); it
    keeps the shard table small and the folded count, which "who to follow" ranks by, current.

    Never waits on a lock and never blocks a follow for longer than one batch's statement. Shards
    of deleted accounts are dropped; accounts with shards but no UserStats row get one. Idempotent
    and safe to run concurrently (two folds split the rows).
    """
    batch = batch or settings.FOLLOWER_COUNT_FOLD_BATCH
    with connection.cursor() as cursor:
        # Leftovers of accounts deleted while a follow of theirs was being counted.
        cursor.execute(
            "DELETE FROM accounts_followershard f"
            " WHERE NOT EXISTS (SELECT 1 FROM accounts_user u WHERE u.id = f.user_id)"
        )
        cursor.execute(
            """
            INSERT INTO accounts_userstats (user_id, followers, following, tweets, fanout_mode)
            SELECT DISTINCT f.user_id, 0, 0, 0, 'push'
            FROM accounts_followershard f JOIN accounts_user u ON u.id = f.user_id
            ON CONFLICT (user_id) DO NOTHING
            """
        )
    folded, after = 0, 0
    while True:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(_FOLD_SQL, {"after": after, "batch": batch})
            row = cursor.fetchone()
        assert row is not None
        candidates, last, done = row
        folded += int(done)
        if candidates < batch:
            return folded
        after = last
