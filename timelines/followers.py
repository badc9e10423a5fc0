"""An author's follower ids as fan-out reads them: streamed in batches, and cut into id ranges for a
chunked fan-out. Reads only (the follows are follows.models'; this is how fan-out walks them).

Streaming uses a server-side cursor (Django's `.iterator(chunk_size=)`, a psycopg named cursor)
inside a transaction: one query whose rows Postgres hands over as they are fetched. Measured in
`make bench` (section fanout_latency, rows/s for a 100K-follower author) against the 1,000-row
keyset pages used before (one query per page, each a fresh index descent) and against COPY ... TO
STDOUT: the cursor read 2.4-4.1M rows/s, the keyset pages ~0.9M, COPY 0.8-1.4M (psycopg hands
over one message per row, so COPY pays Python's cost per row without saving the queries' cost).
Inside a transaction the cursor is an ordinary one (not WITH HOLD, which Postgres materialises at
commit) and works behind PgBouncer in transaction mode.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q, QuerySet

from follows.models import Block, Follow, Mute
from tweethub.ids import SEQUENCE_BITS
from tweets.models import Tweet


@dataclass(frozen=True)
class Audience:
    """Who among an author's followers gets a tweet in their home feed (tests/oracles.py says it in
    SQL): `reply_to`, the person a reply answers when that is not its author, narrows it to those
    who follow that person too (or are that person); `muters`, the followers who muted the author
    or the person answered, are left out. Muters are few (read once per fan-out, one query), so
    they are skipped in Python rather than probed per follower in SQL."""

    reply_to: int | None = None
    muters: frozenset[int] = field(default_factory=frozenset)
    # A repost: sets of user ids (SQL, one column) for whom another entry about the original is
    # already in the timeline within the de-duplication window (Tweet.timeline_of): left out by an
    # anti-join in the same streamed query. Empty for a tweet: the lean push pays nothing.
    shadowed_by: tuple[QuerySet[Any], ...] = ()
    # Only followers who also follow this account (or are it): the re-push of reposts that an undone
    # repost by this account held back (timelines.services.reposts_refresh).
    also_follows: int | None = None
    # A repost: later reposts of the same tweet, inside the window, that this one holds back (see
    # repost_audience_of); the fan-out removes them from every follower this repost is an entry of.
    held_back: tuple[int, ...] = ()


def audience_of(*, author_id: int, reply_to_author_id: int | None) -> Audience:
    """The audience rule for one tweet: one query (the muters)."""
    reply_to = reply_to_author_id if reply_to_author_id not in (None, author_id) else None
    muted = [author_id] if reply_to is None else [author_id, reply_to]
    muters = frozenset(Mute.objects.filter(muted_id__in=muted).values_list("muter_id", flat=True))
    return Audience(reply_to=reply_to, muters=muters)


def dedup_window() -> int:
    return settings.REPOST_DEDUP_SECONDS * 1000 << SEQUENCE_BITS


def repost_audience_of(*, repost: Tweet, also_follows: int | None = None) -> Audience | None:
    """The audience rule for a repost of the reposter's followers (tests/oracles.py says it in SQL):
    not those who muted the reposter or the original's author, nor those with a block either way
    with the original's author; and the de-duplication rule: not those whose timeline already
    holds another entry about the original within the window before the repost (the original
    itself, as its own audience would have it; another repost, by themselves or someone they
    follow and did not mute). Two queries (muters and blocks; the earlier reposters), the rest is
    an anti-join of the follower walk. None when the original is gone."""
    if repost.repost_of is None:
        return None
    original = Tweet.objects.filter(pk=repost.repost_of).values("id", "author_id", "reply_to_author_id").first()
    if original is None:
        return None
    author, reposter = original["author_id"], repost.author_id
    mute_or_block = (
        Mute.objects.filter(muted_id__in=[author, reposter])
        .values_list("muter_id", flat=True)
        .union(
            Block.objects.filter(blocker_id=author).values_list("blocked_id", flat=True),
            Block.objects.filter(blocked_id=author).values_list("blocker_id", flat=True),
        )
    )
    skip = frozenset(mute_or_block)
    window = dedup_window()
    shadowed: list[QuerySet[Any]] = []
    if original["id"] >= repost.pk - window:
        # The original is in the reader's timeline: its author's own, or a follower's under the
        # reply rule (and not hidden by a mute of the person it answers).
        holders = Follow.objects.filter(followee_id=author)
        answered = original["reply_to_author_id"]
        if answered not in (None, author):
            also = Follow.objects.filter(followee_id=answered).values("follower_id")
            holders = holders.filter(Q(follower_id__in=also) | Q(follower_id=answered)).exclude(
                follower_id__in=Mute.objects.filter(muted_id=answered).values("muter_id")
            )
        shadowed.append(holders.values("follower_id"))
        shadowed.append(get_user_model().objects.filter(pk=author).values("id"))
    around = list(
        Tweet.objects.filter(repost_of=original["id"], id__gte=repost.pk - window, id__lte=repost.pk + window)
        .exclude(pk=repost.pk)
        .visible()
        .values_list("id", "author_id")
    )
    earlier = [author_id for repost_id, author_id in around if repost_id < repost.pk]
    # Later reposts already there: this one was committed after they were fanned out (ids are taken
    # at insert, commits land in any order), so it holds them back now wherever it is an entry.
    later = tuple(repost_id for repost_id, _ in around if repost_id > repost.pk)
    if earlier:
        # Followers of an earlier reposter who did not mute them, and the earlier reposters.
        muted_it = Mute.objects.filter(muter_id=OuterRef("follower_id"), muted_id=OuterRef("followee_id"))
        followers = Follow.objects.filter(followee_id__in=earlier).exclude(Exists(muted_it))
        shadowed.append(followers.values("follower_id"))
        shadowed.append(
            get_user_model().objects.filter(pk__in=earlier).values("id")  # the reposters themselves
        )
    return Audience(muters=skip, shadowed_by=tuple(shadowed), also_follows=also_follows, held_back=later)


def shadowed(*, audience: Audience, user_id: int) -> bool:
    """Whether the de-duplication rule (or a mute or block) holds the repost back from this user's
    own timeline: the reposter's own feed. One query (none for a tweet)."""
    if user_id in audience.muters:
        return True
    if not audience.shadowed_by:
        return False
    rule = Q()
    for users in audience.shadowed_by:
        rule |= Q(pk__in=users)
    return get_user_model().objects.filter(rule, pk=user_id).exists()


# What a range's upper bound of 0 means: no bound (the last range takes every follower id above its
# start, so a follower who arrives while the fan-out runs is never between two ranges).
NO_UPPER_BOUND = 0


def follower_batches(
    *,
    author_id: int,
    after: int = 0,
    upto: int = NO_UPPER_BOUND,
    expected: int | None = None,
    audience: Audience | None = None,
) -> Iterator[list[int]]:
    """The author's followers with after < id <= upto (upto 0: no bound), in follower-id order,
    FANOUT_BATCH_SIZE at a time, read from the index alone (follows_followee_follower).

    No activity filter here, on purpose: a push only writes feeds that exist, and a feed exists
    only for someone seen within ACTIVE_DAYS (it expires a day sooner after its last read, and the
    sweep drops it when its owner turns inactive). Joining users on last_active cost ~9 us per
    follower in `make bench` against ~1 us for Redis to skip a missing feed, so Redis decides.

    One snapshot for the whole walk (the cursor's): a follow made meanwhile is covered by its own
    backfill, an unfollow by its tombstone (follows.feedstate). The caller may run other queries
    between batches (they share the transaction), and must not hold the generator open for long:
    its transaction holds back vacuum while it lives.

    `expected`: how many followers the caller believes there are (the author's counter). At most
    one batch: ONE plain query instead (a cursor costs BEGIN, DECLARE, FETCH, CLOSE and COMMIT:
    five round trips, for the small fan-outs that are most of them). A stale count costs only
    memory: that query still returns every follower, handed over in batches of the usual size.
    """
    size = settings.FANOUT_BATCH_SIZE
    rows = Follow.objects.filter(followee_id=author_id, follower_id__gt=after)
    if upto != NO_UPPER_BOUND:
        rows = rows.filter(follower_id__lte=upto)
    skip: frozenset[int] = frozenset()
    if audience is not None:
        skip = audience.muters
        if audience.reply_to is not None:
            # The reply rule as a semi-join on the follows index: only followers who also follow the
            # person answered (or are that person). Postgres streams it like the plain walk.
            also = Follow.objects.filter(followee_id=audience.reply_to).values("follower_id")
            rows = rows.filter(Q(follower_id__in=also) | Q(follower_id=audience.reply_to))
        if audience.also_follows is not None:
            also = Follow.objects.filter(followee_id=audience.also_follows).values("follower_id")
            rows = rows.filter(Q(follower_id__in=also) | Q(follower_id=audience.also_follows))
        for users in audience.shadowed_by:
            rows = rows.exclude(follower_id__in=users)
    ids = rows.order_by("follower_id").values_list("follower_id", flat=True)
    if expected is not None and expected <= size:
        found = [follower_id for follower_id in ids if follower_id not in skip]
        for start in range(0, len(found), size):  # a stale count still gets batches of `size`
            yield found[start : start + size]
        return
    with transaction.atomic():
        batch: list[int] = []
        for follower_id in ids.iterator(chunk_size=size):
            if follower_id in skip:
                continue
            batch.append(follower_id)
            if len(batch) == size:
                yield batch
                batch = []
        if batch:
            yield batch


def follower_ranges(*, author_id: int, size: int) -> list[tuple[int, int]]:
    """Cut the author's followers into ranges (after, upto] of `size` followers each, in id order
    (the last one open: upto = NO_UPPER_BOUND), for a chunked fan-out. One index-only scan that
    returns only every size-th id, never the last one (no empty range at the end). A single
    (0, NO_UPPER_BOUND) range for a small audience."""
    sql = f"""
        SELECT follower_id FROM (
            SELECT follower_id, row_number() OVER (ORDER BY follower_id) AS n, count(*) OVER () AS total
            FROM {Follow._meta.db_table} WHERE followee_id = %s
        ) numbered
        WHERE n %% %s = 0 AND n < total ORDER BY follower_id
    """  # noqa: S608 (table name from the model, values bound)
    with connection.cursor() as cursor:
        cursor.execute(sql, [author_id, size])
        bounds = [int(row[0]) for row in cursor.fetchall()]
    starts = [0, *bounds]
    return list(zip(starts, [*bounds, NO_UPPER_BOUND], strict=True))
