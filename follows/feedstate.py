"""What a home feed must know about its reader's follows, kept in the feeds Redis beside the feed.

    tlu:{<user>}   hash: unfollowed account id -> until when (ms since the epoch; 0 = until the
                   cleanup task has removed that account's ids from the feed). The page read skips
                   nothing itself: a feed id by a listed account makes the page come from SQL.
    tlp:{<user>}   "<version>|<id>,<id>,...": the reader's followees in pull mode (celebrities,
                   whose tweets are not fanned out but merged at read time), valid while <version>
                   equals tlpv; expires after PULL_SET_SECONDS.
    tlpv           version of the set of pull-mode accounts: bumped after every commit that changes
                   an account's mode, which makes every reader's tlp stale at once.

This module owns these keys; timelines.store reads them inside the home page's one-round-trip
script. They replace two SQL queries per page: the pull-mode followees (which scanned the reader's
whole following list) and the check that every author on the page is still followed.

Both are copies of Postgres and rebuildable: a missing or stale tlp is recomputed from one query
(`pull_authors_from_db`); a missing tlu loses only the fast path's protection against a fan-out
batch that read its followers before an unfollow and wrote after it (see `unfollowed`), while the
cleanup task still removes the ids.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

import redis
from django.conf import settings

from accounts.models import FanoutMode, UserStats
from follows.models import Follow, Mute
from tweethub.redis import Role, feeds
from tweethub.redis import script as redis_script
from tweethub.rediskeys import KeyFamily

logger = logging.getLogger(__name__)

PULL_VERSION_KEY = "tlpv"


def tombstones_key(user_id: int | str) -> str:
    return f"tlu:{{{user_id}}}"


def pull_set_key(user_id: int | str) -> str:
    return f"tlp:{{{user_id}}}"


# On the feeds' Redis: the home page script reads them with the feed. Purged: they name purged users.
REDIS_KEYS = (
    KeyFamily(
        key=tombstones_key("<user>"),
        role=Role.FEEDS,
        holds=(
            "unfollow tombstones: account -> until when (0: until the cleanup ran; then "
            "`UNFOLLOW_GRACE_SECONDS`); feed lifetime"
        ),
        rebuilt_by="lost: only the late-fan-out race is unguarded until the cleanup task runs",
        purge=True,
    ),
    KeyFamily(
        key=pull_set_key("<user>"),
        role=Role.FEEDS,
        holds='the reader\'s pull-mode followees "<version>|<ids>" (`PULL_SET_SECONDS`)',
        rebuilt_by="recomputed from one query when missing or its version is old",
        purge=True,
    ),
    KeyFamily(
        key=PULL_VERSION_KEY,
        role=Role.FEEDS,
        holds="the version of the set of pull-mode accounts",
        rebuilt_by="set again by the next mode change; a missing one makes every pull set stale",
        purge=True,
    ),
)


def _lifetime_ms() -> int:
    # As long as a feed can live (timelines.store.feed_ttl_ms): a tombstone must outlast any feed
    # that might still hold the unfollowed account's ids.
    return int(max(settings.ACTIVE_DAYS, 1) * 86_400_000)


def unfollowed(*, follower_id: int, followee_id: int) -> None:
    """After an unfollow commits: pages stop trusting the follower's feed for that account's ids at
    once (the cleanup task removes them later, see `cleaned`). Best effort: if Redis refuses, the
    cleanup task (from the outbox) still removes the ids, a moment later."""
    key = tombstones_key(follower_id)
    try:
        pipe = feeds().pipeline(transaction=False)
        pipe.hset(key, str(followee_id), 0)
        pipe.pexpire(key, _lifetime_ms())
        pipe.delete(pull_set_key(follower_id))
        pipe.execute()
    except redis.RedisError:
        logger.warning("could not record the unfollow %s -> %s", follower_id, followee_id, exc_info=True)


def followed(*, follower_id: int, followee_id: int) -> None:
    """After a follow commits (and again from the backfill task): the account is no longer
    unfollowed, and the reader's pull-mode set may have gained it."""
    pipe = feeds().pipeline(transaction=False)
    pipe.hdel(tombstones_key(follower_id), str(followee_id))
    pipe.delete(pull_set_key(follower_id))
    pipe.execute()


def followed_best_effort(*, follower_id: int, followee_id: int) -> None:
    try:
        followed(follower_id=follower_id, followee_id=followee_id)
    except redis.RedisError:
        logger.warning("could not record the follow %s -> %s", follower_id, followee_id, exc_info=True)


# KEYS: tlu.  ARGV: account id, until (ms).  Shortens a tombstone that is still there.
_CLEANED = """
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
end
"""


def cleaned(*, follower_id: int, followee_id: int) -> None:
    """The cleanup task removed the account's ids from the follower's feed: keep the tombstone for
    UNFOLLOW_GRACE_SECONDS more, for a fan-out batch that read the followers before the unfollow
    committed and writes after the cleanup, then let it lapse."""
    until = int(time.time() * 1000) + settings.UNFOLLOW_GRACE_SECONDS * 1000
    redis_script(feeds(), _CLEANED)(keys=[tombstones_key(follower_id)], args=[followee_id, until])


def active_tombstones(raw: Sequence[bytes | str], *, now_ms: int | None = None) -> set[int]:
    """The accounts a page must not take from the feed, from HGETALL's flat [field, value, ...]."""
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    active: set[int] = set()
    for field, until in zip(raw[0::2], raw[1::2], strict=True):
        until_ms = int(until)
        if until_ms == 0 or until_ms > now_ms:
            active.add(int(field))
    return active


def pull_authors_from_db(user_id: int) -> list[int]:
    """The reader's followees in pull mode (PULL or DEMOTING), suspended and muted accounts left out
    (their tweets are hidden). One query that probes the follows unique index once per pull-mode account
    (a few dozen on a large site), instead of scanning the reader's whole following list."""
    pull_mode = UserStats.objects.filter(
        fanout_mode__in=[FanoutMode.PULL, FanoutMode.DEMOTING], user__is_active=True
    ).values("user_id")
    muted = Mute.objects.filter(muter_id=user_id).values("muted_id")  # muted: not merged at all
    return sorted(
        Follow.objects.filter(follower_id=user_id, followee_id__in=pull_mode)
        .exclude(followee_id__in=muted)
        .values_list("followee_id", flat=True)
    )


def pull_version() -> str:
    """The current version of the set of pull-mode accounts (created if Redis lost it: a fresh,
    unguessable value, so that no surviving tlp can match it by accident)."""
    client = feeds()
    client.set(PULL_VERSION_KEY, f"{time.time_ns()}", nx=True)
    version = client.get(PULL_VERSION_KEY)
    return version.decode() if isinstance(version, bytes) else str(version)


def pull_set_store(*, user_id: int, version: str, author_ids: Sequence[int]) -> None:
    """Remember the reader's pull-mode followees as computed under `version` (read BEFORE the query,
    so a mode change committed meanwhile bumps past it and the next page recomputes)."""
    value = f"{version}|{','.join(str(author_id) for author_id in author_ids)}"
    feeds().set(pull_set_key(user_id), value, px=settings.PULL_SET_SECONDS * 1000)


def pull_version_bump() -> None:
    """After a commit that changed an account's fan-out mode: every reader recomputes its pull set.
    Best effort: if Redis refuses, readers' sets expire within PULL_SET_SECONDS."""
    try:
        pipe = feeds().pipeline(transaction=True)
        pipe.set(PULL_VERSION_KEY, f"{time.time_ns()}", nx=True)  # lost: start from a fresh value
        pipe.incr(PULL_VERSION_KEY)
        pipe.execute()
    except redis.RedisError:
        logger.warning("could not bump the pull-mode version", exc_info=True)
