"""Exact counters (UserStats) and the fan-out mode they decide."""

from __future__ import annotations

from django.conf import settings
from django.db import connection

from accounts.models import FanoutMode, UserStats


def stats_adjust(*, user_id: int, followers: int = 0, following: int = 0, tweets: int = 0) -> UserStats:
    """Add to a user's exact counters, creating the row on first use. Call inside the transaction
    that writes the counted rows, so counts and rows commit (or roll back) together.

    One upsert statement: concurrent callers serialise on the row lock, never lose an increment.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO accounts_userstats AS s (user_id, followers, following, tweets, fanout_mode)
            VALUES (%s, GREATEST(%s, 0), GREATEST(%s, 0), GREATEST(%s, 0), 'push')
            ON CONFLICT (user_id) DO UPDATE SET
                followers = GREATEST(s.followers + EXCLUDED.followers + LEAST(%s, 0), 0),
                following = GREATEST(s.following + EXCLUDED.following + LEAST(%s, 0), 0),
                tweets = GREATEST(s.tweets + EXCLUDED.tweets + LEAST(%s, 0), 0)
            RETURNING user_id, followers, following, tweets, fanout_mode
            """,
            [user_id, followers, following, tweets, followers, following, tweets],
        )
        row = cursor.fetchone()
    assert row is not None
    return UserStats(user_id=row[0], followers=row[1], following=row[2], tweets=row[3], fanout_mode=row[4])


def fanout_mode_after_follower_change(*, stats: UserStats) -> str | None:
    """Switch push/pull mode when a follower count crosses the celebrity threshold.

    Called in the follow/unfollow transaction with the row just updated (and locked) by
    stats_adjust. Returns the new mode when it changed, else None. Promotion takes effect at once
    (readers start merging); demotion goes through DEMOTING, and the caller queues the backfill
    that ends it (timelines), so readers keep merging until feeds hold the author's tweets.
    """
    threshold = settings.CELEBRITY_THRESHOLD
    mode = stats.fanout_mode
    if mode in (FanoutMode.PUSH, FanoutMode.DEMOTING) and stats.followers > threshold:
        new = FanoutMode.PULL
    elif mode == FanoutMode.PULL and stats.followers <= threshold * settings.CELEBRITY_HYSTERESIS:
        new = FanoutMode.DEMOTING
    else:
        return None
    UserStats.objects.filter(user_id=stats.user_id).update(fanout_mode=new)
    return str(new)


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
