"""Accounts and follows the sections add on top of the seeded graph, in bulk.

Benchmarks need exact shapes (an author with exactly 10K active followers, a reader following
exactly 1,000 accounts) that a random graph gives only by luck, so sections build them here.
Bulk inserts bypass the services on purpose: these are fixtures for measuring, not user actions,
and the counters they skip are set right in one statement at the end.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.auth.hashers import make_password
from django.contrib.sessions.backends.base import VALID_KEY_CHARS
from django.contrib.sessions.backends.cached_db import SessionStore
from django.contrib.sessions.models import Session
from django.db import connection, transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.crypto import get_random_string

from accounts.models import FanoutMode, User, UserStats
from follows.models import Follow
from timelines.services import feeds_bulk_build
from tweets.models import Tweet

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


def reader_following(*, count: int, prefix: str, rng: random.Random) -> int:
    """A new active account following exactly `count` accounts that have tweeted (a random sample of
    them; accounts with one tweet each are added when the seeded graph has too few), feed built.

    Every followee then adds to the timeline, so a reader "following 5,000" really reads a merge
    of 5,000 accounts' tweets. Raises if the follow count is not exact."""
    (reader,) = users_create(prefix=prefix, count=1)
    pool = list(Tweet.objects.order_by().values_list("author_id", flat=True).distinct())
    authors = rng.sample(pool, min(count, len(pool)))
    if len(authors) < count:
        extra = users_create(prefix=f"{prefix}a", count=count - len(authors))
        Tweet.objects.bulk_create([Tweet(author_id=author, text=f"bench tweet by {author}") for author in extra])
        authors += extra
    follows_create(pairs=[(reader, author) for author in authors])
    have = Follow.objects.filter(follower_id=reader).count()
    if have != count:
        raise AssertionError(f"reader {reader} follows {have} accounts, not {count}")
    feeds_bulk_build(user_ids=[reader])
    return reader


# --- Accounts that log in over HTTP (the http and realtime sections) ------------------------------


def ensure_users(usernames: Sequence[str]) -> list[User]:
    """Verified, active users with these names (created if missing; reruns reuse them), in order."""
    now = timezone.now()
    unusable = make_password(None)  # they log in by session (session_cookies), never by password
    User.objects.bulk_create(
        [User(username=name, name=name, email=f"{name}@bench.invalid", password=unusable, verified_at=now,
              last_active=now) for name in usernames],
        ignore_conflicts=True,
        batch_size=1000,
    )  # fmt: skip
    users = {user.username: user for user in User.objects.filter(username__in=usernames)}
    User.objects.filter(pk__in=[user.pk for user in users.values()]).update(last_active=now, verified_at=now)
    return [users[name] for name in usernames]


def ensure_follows(pairs: Sequence[tuple[int, int]]) -> None:
    """follower -> followee rows (existing ones kept), with exact counters for everyone involved."""
    Follow.objects.bulk_create(
        [Follow(follower_id=follower, followee_id=followee) for follower, followee in pairs],
        ignore_conflicts=True,
        batch_size=5000,
    )
    users = sorted({user for pair in pairs for user in pair})
    recount_stats(users)


def recount_stats(user_ids: Sequence[int]) -> None:
    """Exact followers / following / tweets counters (a bulk load bypasses the services that keep
    them); the fan-out mode is left as it is."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO accounts_userstats (user_id, followers, following, tweets, fanout_mode)
            SELECT u.id,
                   (SELECT count(*) FROM follows_follow f WHERE f.followee_id = u.id),
                   (SELECT count(*) FROM follows_follow f WHERE f.follower_id = u.id),
                   (SELECT count(*) FROM tweets_tweet t WHERE t.author_id = u.id),
                   'push'
            FROM unnest(%s::bigint[]) AS u(id)
            ON CONFLICT (user_id) DO UPDATE SET followers = EXCLUDED.followers,
                following = EXCLUDED.following, tweets = EXCLUDED.tweets
            """,
            [list(user_ids)],
        )


def session_cookies(users: Sequence[User]) -> dict[int, str]:
    """A logged-in session per user, as login() would store it, written in bulk (1,000 logins one
    by one would take longer than the measurement). user id -> Cookie header value."""
    store = SessionStore()
    expires = timezone.now() + timedelta(seconds=settings.SESSION_COOKIE_AGE)
    backend = settings.AUTHENTICATION_BACKENDS[0]
    keys = {user.pk: get_random_string(32, VALID_KEY_CHARS) for user in users}
    rows = []
    for user in users:
        data = {SESSION_KEY: str(user.pk), BACKEND_SESSION_KEY: backend}
        data[HASH_SESSION_KEY] = user.get_session_auth_hash()
        rows.append(Session(session_key=keys[user.pk], session_data=store.encode(data), expire_date=expires))
    Session.objects.bulk_create(rows, batch_size=1000)
    return {user_id: f"{settings.SESSION_COOKIE_NAME}={key}" for user_id, key in keys.items()}
