"""Bulk feed builds for bulk loads (seed_data, benchmarks): many users' feeds from Postgres at once,
each equal to what timelines.services.feed_rebuild would write (tests/timelines/test_bulk_build.py)."""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from itertools import islice

from django.conf import settings
from django.db import connection

from accounts.models import User
from follows.models import Follow, Mute
from timelines import store
from timelines.reposts import reposts_reconcile
from tweets.models import Tweet


def _newest_ids_by_author(author_ids: Sequence[int], limit: int) -> dict[int, list[tuple[int, int]]]:
    """Each active author's newest `limit` tweets as (id, author answered or 0), newest first: one
    index scan per author (LATERAL); suspended (inactive) authors have none shown."""
    sql = f"""
        SELECT a.id, ARRAY(
            SELECT ARRAY[t.id, COALESCE(t.reply_to_author_id, 0)] FROM {Tweet._meta.db_table} t
            WHERE t.author_id = a.id ORDER BY t.id DESC LIMIT %s
        )
        FROM unnest(%s::bigint[]) AS a(id) JOIN {User._meta.db_table} u ON u.id = a.id AND u.is_active
    """  # noqa: S608 (table names from the model, values bound)
    with connection.cursor() as cursor:
        cursor.execute(sql, [limit, list(author_ids)])
        return {author_id: [(row[0], row[1]) for row in rows] for author_id, rows in cursor.fetchall() if rows}


def _bulk_feed(
    user_id: int, authors: list[int], muted: set[int], newest: dict[int, list[tuple[int, int]]], limit: int
) -> tuple[list[int], int]:
    """One reader's feed from the authors' newest tweets: the timeline rule (Tweet.timeline_of)
    applied in Python. An author's list that came back full may hide older tweets that pass the
    rule: the floor then stays at or above its oldest id, so the feed never claims what it skipped."""
    followees = set(authors) - {user_id}
    floor = 0
    taken: list[list[int]] = []
    for author in authors:
        rows = newest[author]
        if len(rows) == limit:
            floor = max(floor, rows[-1][0] - 1)
        if author == user_id:
            taken.append([tweet_id for tweet_id, _ in rows])
        elif author not in muted:
            taken.append(
                [
                    tweet_id
                    for tweet_id, answered in rows
                    if answered in (0, author, user_id) or (answered in followees and answered not in muted)
                ]
            )
    ids = list(islice(heapq.merge(*taken, reverse=True), limit))
    if len(ids) == limit:
        floor = max(floor, ids[-1] - 1)
    return [tweet_id for tweet_id in ids if tweet_id > floor], floor


def feeds_bulk_build(*, user_ids: Sequence[int], batch_size: int = 5000) -> int:
    """Build many users' feeds from Postgres at once, for bulk loads (seed_data, benchmarks).

    Gives every feed what feed_rebuild would (the newest ids of own and followees' tweets under the
    reply rule and mutes, with a floor below which it claims nothing), but reads each author's
    newest ids once for all their followers instead of running one timeline query per user.
    Precondition: no fan-out runs meanwhile (store.install takes no lock). Returns the number of
    feeds written.
    """
    limit = settings.TIMELINE_LENGTH
    newest: dict[int, list[tuple[int, int]]] = {}
    written = 0
    for start in range(0, len(user_ids), batch_size):
        batch = list(user_ids[start : start + batch_size])
        followees: dict[int, list[int]] = {user_id: [user_id] for user_id in batch}
        for follower_id, followee_id in Follow.objects.filter(follower_id__in=batch).values_list(
            "follower_id", "followee_id"
        ):
            followees[follower_id].append(followee_id)
        muted: dict[int, set[int]] = {}
        for muter_id, muted_id in Mute.objects.filter(muter_id__in=batch).values_list("muter_id", "muted_id"):
            muted.setdefault(muter_id, set()).add(muted_id)
        wanted = {author for authors in followees.values() for author in authors} - newest.keys()
        fetched = _newest_ids_by_author(sorted(wanted), limit)
        newest.update(fetched)
        newest.update({author: [] for author in wanted - fetched.keys()})
        built = {
            user_id: _bulk_feed(user_id, authors, muted.get(user_id, set()), newest, limit)
            for user_id, authors in followees.items()
        }
        store.install(feeds_by_user=built)
        # Reposts: the rule above takes them like tweets; the de-duplication rule (and the hiding of
        # reposts of muted or blocked accounts) is applied by reconciling the few feeds that hold
        # one (two queries each, see timelines.reposts).
        held = {tweet_id for ids, _ in built.values() for tweet_id in ids}
        reposts = set(Tweet.objects.filter(id__in=held, repost_of__isnull=False).values_list("id", flat=True))
        for user_id, (ids, _) in built.items():
            if reposts.intersection(ids):
                reposts_reconcile(user_id=user_id)
        written += len(built)
    return written
