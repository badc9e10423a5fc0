"""Accounts and follows the sections add on top of the seeded graph, in bulk.

Benchmarks need exact shapes (an author with exactly 10K active followers, a reader following
exactly 1,000 accounts) that a random graph gives only by luck, so sections build them here.
Bulk inserts bypass the services on purpose: these are fixtures for measuring, not user actions,
and the counters they skip are set right in one statement at the end.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from django.db import connection, transaction
from django.db.models import Count
from django.utils import timezone

from accounts.models import FanoutMode, User, UserStats
from follows.models import Follow
from timelines.services import feeds_bulk_build

BATCH = 10_000


def users_create(*, prefix: str, count: int, active: bool = True) -> list[int]:
    """`count` new accounts named <prefix><n> (unusable passwords), active now unless told.

    Usernames are at most 15 characters: keep prefixes short."""
    now = timezone.now()
    rows = [
        User(
            username=f"{prefix}{n}",
            name=f"{prefix} {n}",
            email=f"{prefix}{n}@bench.invalid",
            password="!",  # noqa: S106 (an unusable password: nobody logs in as these)
            verified_at=now,
            last_active=now if active else now - timedelta(days=365),
        )
        for n in range(count)
    ]
    with transaction.atomic():
        created = User.objects.bulk_create(rows, batch_size=BATCH)
        UserStats.objects.bulk_create(
            [UserStats(user_id=user.pk, fanout_mode=FanoutMode.PUSH) for user in created], batch_size=BATCH
        )
    return [user.pk for user in created]


def follows_create(*, pairs: Sequence[tuple[int, int]]) -> None:
    """Insert (follower, followee) pairs (duplicates ignored), then recount both sides' stats."""
    with transaction.atomic():
        Follow.objects.bulk_create(
            [Follow(follower_id=a, followee_id=b) for a, b in pairs], batch_size=BATCH, ignore_conflicts=True
        )
        stats_recount(user_ids={a for a, _ in pairs} | {b for _, b in pairs})


def stats_recount(*, user_ids: set[int]) -> None:
    ids = sorted(user_ids)
    for start in range(0, len(ids), BATCH):
        chunk = ids[start : start + BATCH]
        followers = dict(
            Follow.objects.filter(followee_id__in=chunk).values_list("followee_id").annotate(n=Count("id"))
        )
        following = dict(
            Follow.objects.filter(follower_id__in=chunk).values_list("follower_id").annotate(n=Count("id"))
        )
        stats = list(UserStats.objects.filter(user_id__in=chunk))
        for row in stats:
            row.followers = followers.get(row.user_id, 0)
            row.following = following.get(row.user_id, 0)
        UserStats.objects.bulk_update(stats, ["followers", "following"], batch_size=BATCH)


def active_users_with_feeds(*, count: int, exclude: set[int]) -> list[int]:
    """`count` accounts, made active and given feeds: existing ones first, new ones if too few."""
    ids = list(
        User.objects.exclude(id__in=exclude).filter(is_staff=False).order_by("id").values_list("id", flat=True)[:count]
    )
    if len(ids) < count:
        ids += users_create(prefix="bx", count=count - len(ids))
    User.objects.filter(id__in=ids).update(last_active=timezone.now())
    feeds_bulk_build(user_ids=ids)
    return ids


def analyze() -> None:
    """Fresh planner statistics after bulk loads, as autovacuum would give a real site."""
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
