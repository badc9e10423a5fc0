"""Writes to follows. Counts change in the same transaction; feeds catch up after commit."""

from __future__ import annotations

from functools import partial

from django.core.exceptions import ValidationError
from django.db import connection, transaction

from accounts.models import FanoutMode, User, UserStats
from accounts.services import fanout_mode_after_follower_change, followers_adjust, require_verified, stats_adjust
from follows import feedstate
from follows.blocks import blocked_either_way, forget_hidden
from follows.models import Block, Follow, Mute
from tweethub import outbox
from tweethub.ratelimit import hit, rate_setting


def _queue(task_name: str, *args: int) -> None:
    """Queue a timelines task through the outbox, in the caller's transaction."""
    outbox.enqueue(f"timelines.tasks.{task_name}", *args)


def _limit(user: User) -> None:
    """Follows and unfollows together, per user (RATE_LIMIT_FOLLOWS_PER_USER): each one writes two
    counters, queues a feed backfill or cleanup and may flip a celebrity's mode, so a script
    toggling follows would churn the feeds. Every attempt counts, repeats of an existing state too.
    Raises RateLimited (429 through RateLimitedMiddleware)."""
    hit(
        scope="follow-user",
        key=str(user.pk),
        rate=rate_setting("RATE_LIMIT_FOLLOWS_PER_USER"),
        message="You have followed and unfollowed a lot of accounts in a short while. Please wait a little.",
    )


def _adjust_counts(*, follower_id: int, followee_id: int, delta: int) -> UserStats:
    """Both users' counters; returns the followee's (with its follower total, for the mode switch).

    The followee's count goes to one of its follower shards (accounts.models.FollowerShard), never
    its UserStats row, so a crowd following one account does not queue on one row lock; the
    follower's own `following` is its own row, which only its own actions write. Shard first: a
    transaction then holds at most one UserStats row (its follower's) while it waits, so no two
    follows (A follows B while B follows A included) can wait on each other in a cycle.
    """
    stats = followers_adjust(user_id=followee_id, follower_id=follower_id, delta=delta)
    stats_adjust(user_id=follower_id, following=delta)
    return stats


def follow_create(*, follower: User, followee: User) -> bool:
    """Follow `followee`. Idempotent: True if a new follow was made, False if it existed.

    Verified users only, never oneself, only active accounts, rate-limited (RateLimited). Counts and
    the celebrity switch are updated in the same transaction; the feed backfill is queued after commit.
    """
    require_verified(follower)
    if follower.pk == followee.pk:
        raise ValidationError("You cannot follow yourself.")
    if not followee.is_active:
        raise ValidationError("That account is not available.")
    if blocked_either_way(follower.pk, followee.pk):
        raise ValidationError("You cannot follow this account.")
    _limit(follower)
    with transaction.atomic():
        with connection.cursor() as cursor:
            # ON CONFLICT: two concurrent clicks make one follow and one count, never an error.
            cursor.execute(
                """
                INSERT INTO follows_follow (follower_id, followee_id, created_at)
                VALUES (%s, %s, now()) ON CONFLICT (follower_id, followee_id) DO NOTHING
                """,
                [follower.pk, followee.pk],
            )
            created = cursor.rowcount == 1
        if not created:
            return False
        stats = _adjust_counts(follower_id=follower.pk, followee_id=followee.pk, delta=1)
        new_mode = fanout_mode_after_follower_change(stats=stats)
        follower_id, followee_id = follower.pk, followee.pk
        # Before the backfill is sent: the follower's pages stop skipping the account at once.
        transaction.on_commit(lambda: feedstate.followed_best_effort(follower_id=follower_id, followee_id=followee_id))
        _queue("follow_backfill_task", follower.pk, followee.pk)
        # After commit, through the outbox (the notifications app sits above this one).
        outbox.enqueue("notifications.tasks.notify_task", "follow", follower.pk, followee.pk, 0)
        if new_mode is not None:
            transaction.on_commit(feedstate.pull_version_bump)
    return True


def follow_delete(*, follower: User, followee: User) -> bool:
    """Unfollow. Idempotent: True if a follow was removed, False if there was none. Rate-limited
    with follows (RateLimited)."""
    _limit(follower)
    with transaction.atomic():
        return _unfollow(follower_id=follower.pk, followee_id=followee.pk)


def _unfollow(*, follower_id: int, followee_id: int) -> bool:
    """Remove one follow, inside the caller's transaction: counts, mode, the feed's cleanup."""
    deleted, _ = Follow.objects.filter(follower_id=follower_id, followee_id=followee_id).delete()
    if not deleted:
        return False
    stats = _adjust_counts(follower_id=follower_id, followee_id=followee_id, delta=-1)
    new_mode = fanout_mode_after_follower_change(stats=stats)
    # Before the cleanup is sent: from this commit on, the follower's pages ignore the feed's
    # ids by that account (no SQL "still followed?" check per page), until the cleanup ran.
    transaction.on_commit(lambda: feedstate.unfollowed(follower_id=follower_id, followee_id=followee_id))
    _queue("unfollow_cleanup_task", follower_id, followee_id)
    if new_mode is not None:
        transaction.on_commit(feedstate.pull_version_bump)
    if new_mode == FanoutMode.DEMOTING:
        _queue("celebrity_demote_task", followee_id)
    return True


def _limit_blocks(user: User) -> None:
    """Blocks, unblocks, mutes and unmutes together (RATE_LIMIT_BLOCKS_PER_USER): each one queues a
    feed cleanup or backfill. Raises RateLimited (429)."""
    hit(
        scope="block-user",
        key=str(user.pk),
        rate=rate_setting("RATE_LIMIT_BLOCKS_PER_USER"),
        message="You have blocked and muted a lot of accounts in a short while. Please wait a little.",
    )


def _check_other(user: User, other: User, verb: str) -> None:
    require_verified(user)
    if user.pk == other.pk:
        raise ValidationError(f"You cannot {verb} yourself.")
    _limit_blocks(user)


def block_create(*, blocker: User, blocked: User) -> bool:
    """Block `blocked`. Idempotent: True if a new block was made. In the same transaction the follows
    between the two go, both ways (counts, modes, and each feed's cleanup queued: the other's
    tweets and replies to them leave it); from then on follows, replies, mentions and messages
    between them are refused, and each is hidden from the other's searches and suggestions.
    Suspended accounts can be blocked too (their suspension may be lifted)."""
    _check_other(blocker, blocked, "block")
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                """
                INSERT INTO follows_block (blocker_id, blocked_id, created_at)
                VALUES (%s, %s, now()) ON CONFLICT (blocker_id, blocked_id) DO NOTHING
                """,
                [blocker.pk, blocked.pk],
            )
            if cursor.rowcount != 1:
                return False
        _unfollow(follower_id=blocker.pk, followee_id=blocked.pk)
        _unfollow(follower_id=blocked.pk, followee_id=blocker.pk)
        # Reposts of each other's tweets by accounts they follow leave both feeds too (followed or
        # not): a tombstone at commit, as for an unfollow, then the cleanup.
        for one, other in ((blocker.pk, blocked.pk), (blocked.pk, blocker.pk)):
            transaction.on_commit(partial(feedstate.unfollowed, follower_id=one, followee_id=other))
            _queue("unfollow_cleanup_task", one, other)
        # Replies between them already in other feeds stay: they were public when posted.
        pair = (blocker.pk, blocked.pk)
        transaction.on_commit(lambda: forget_hidden(*pair))
    return True


def block_delete(*, blocker: User, blocked: User) -> bool:
    """Unblock. Idempotent: True if a block was removed. Follows removed by the block stay removed."""
    _check_other(blocker, blocked, "unblock")
    with transaction.atomic():
        deleted, _ = Block.objects.filter(blocker_id=blocker.pk, blocked_id=blocked.pk).delete()
        if deleted:
            pair = (blocker.pk, blocked.pk)
            transaction.on_commit(lambda: forget_hidden(*pair))
            # Reposts of each other's tweets by accounts they follow may show again.
            _queue("reposts_reconcile_task", blocker.pk)
            _queue("reposts_reconcile_task", blocked.pk)
    return bool(deleted)


def mute_create(*, muter: User, muted: User) -> bool:
    """Mute `muted`: their tweets, and replies to them, leave the muter's home feed (a tombstone at
    commit, like an unfollow's, then the cleanup task); nothing tells them. Idempotent."""
    _check_other(muter, muted, "mute")
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                """
                INSERT INTO follows_mute (muter_id, muted_id, created_at)
                VALUES (%s, %s, now()) ON CONFLICT (muter_id, muted_id) DO NOTHING
                """,
                [muter.pk, muted.pk],
            )
            if cursor.rowcount != 1:
                return False
        muter_id, muted_id = muter.pk, muted.pk
        transaction.on_commit(lambda: feedstate.unfollowed(follower_id=muter_id, followee_id=muted_id))
        transaction.on_commit(lambda: forget_hidden(muter_id))
        _queue("unfollow_cleanup_task", muter_id, muted_id)
    return True


def mute_delete(*, muter: User, muted: User) -> bool:
    """Unmute: what the mute hid comes back to the home feed (the follow's backfill, which does
    nothing unless the muter follows them). Idempotent."""
    _check_other(muter, muted, "unmute")
    with transaction.atomic():
        deleted, _ = Mute.objects.filter(muter_id=muter.pk, muted_id=muted.pk).delete()
        if not deleted:
            return False
        muter_id, muted_id = muter.pk, muted.pk
        transaction.on_commit(lambda: forget_hidden(muter_id))
        if Follow.objects.filter(follower_id=muter_id, followee_id=muted_id).exists():
            # As a follow does: the tombstone goes and the pull set is recomputed. Not without a
            # follow: a tombstone left by an unfollow must stay until its cleanup ran.
            transaction.on_commit(lambda: feedstate.followed_best_effort(follower_id=muter_id, followee_id=muted_id))
            _queue("follow_backfill_task", muter_id, muted_id)
        else:
            # Followed or not, reposts of their tweets (by accounts the muter follows, or the muter's
            # own) come back; the follow's backfill does this too, so only without one.
            _queue("reposts_reconcile_task", muter_id)
    return True
