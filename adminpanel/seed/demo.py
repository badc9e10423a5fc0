"""seed_demo: the small lived-in site `make run` starts with, and its shared demo login.

Loaded phase by phase inside one transaction (people, follows, tweets, counters), then the Redis
state after the commit. Who the people are and what they write is in adminpanel.seed.personas.
"""

from __future__ import annotations

import bisect
import random
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from itertools import accumulate

import redis
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import connection, transaction

from accounts.models import User
from adminpanel.seed.common import (
    DAY_US,
    DEMO_EMAIL_DOMAIN,
    DEMO_LOCK,
    DEMO_PASSWORD,
    DEMO_USERNAME,
    HOUR_US,
    SECOND_US,
    DemoReport,
    Meter,
    Progress,
    SeedError,
    quiet,
)
from adminpanel.seed.engagement import DEMO_LIKES, insert_demo_notifications, insert_likes
from adminpanel.seed.loading import (
    UserRow,
    build_derived,
    copy_follows,
    copy_tweets,
    copy_users,
    current_us,
    existing_ids,
    insert_stats,
    inside_ms,
    moment_at,
    reserve_user_ids,
    tweet_rows,
)
from adminpanel.seed.personas import DEMO_BIO, PERSONAS, TOPIC_TWEETS, Persona
from adminpanel.seed.places import demo_positions, index_positions
from adminpanel.seed.replies import add_demo_replies
from adminpanel.seed.reposts import DEMO_SHARES, link_shares

DEMO_DAYS = 21


def seed_demo(*, progress: Callable[[str], None] | None = None, random_seed: int = 7) -> DemoReport:
    """Fill an empty site with a small lived-in one: 40 people with real-sounding names and bios,
    follows among them, ~200 tweets over the last three weeks with hashtags and @mentions, and a
    shared demo account (DEMO_USERNAME / DEMO_PASSWORD) following most of them, so its home feed is
    full at once. Everyone is verified and was active recently; every active user gets a feed.
    The demo account and most people share a position around Lisbon (adminpanel.seed.places), so
    "people nearby" lists neighbours 1 to ~45 km away; the GEO index is rebuilt after the commit.

    Idempotent: does nothing (DemoReport.seeded False, with the reason) when DEMO_SEED is off or
    any account other than staff and superusers exists (so it never adds to a used site; after the
    nightly purge the next start seeds again). Two concurrent runs serialise on an advisory lock
    and the second finds the first's users. Usernames taken by staff are skipped (the demo account
    then becomes demo_user). The rows commit together; feeds, trends and the GEO index follow (a
    Redis failure there is reported, not raised: home pages fall back to SQL and rebuild their
    feeds, and "nearby" rebuilds the index).
    """
    say = progress or quiet
    if not settings.DEMO_SEED:
        return DemoReport(seeded=False, message="Demo data not seeded: DEMO_SEED is off.")
    started = time.perf_counter()
    # One generator for every phase, so the order of their draws is part of what a seed means.
    rng = random.Random(random_seed)  # noqa: S311 - synthetic data, reproducible on purpose
    now_us = current_us()
    with transaction.atomic():
        refusal = _lock_unless_used()
        if refusal is not None:
            return refusal
        cast = _load_people(rng, random_seed=random_seed, now_us=now_us, say=say)
        following, follows = _load_follows(rng, cast, say)
        tweets = _load_tweets(rng, cast, following, now_us=now_us, say=say)
        tweets += _load_replies(rng, cast, following, now_us=now_us, say=say)
        shared = link_shares(cast.ids, shares=DEMO_SHARES, random_seed=random_seed, keep_authors=[cast.demo_id])
        recent = link_shares(
            cast.ids, shares=DEMO_SHARES, random_seed=random_seed + 1, keep_authors=[cast.demo_id],
            newest_for=cast.demo_id,
        )  # fmt: skip
        say(f"reposts: {shared.reposts + recent.reposts}, quotes: {shared.quotes + recent.quotes}")
        likes = insert_likes(author_ids=cast.ids, percent=DEMO_LIKES[0], chance=DEMO_LIKES[1], seed=random_seed)
        insert_demo_notifications(user_id=cast.demo_id, username=cast.username[cast.demo_id])
        say(f"likes: {likes}")
        insert_stats(cast.ids)
    feeds, note = _build_redis_state(cast.ids, say)
    return DemoReport(
        seeded=True,
        message=f"Demo site seeded: {len(cast.ids)} accounts, {follows} follows, {tweets} tweets.{note}",
        users=len(cast.ids),
        follows=follows,
        tweets=tweets,
        feeds=feeds,
        username=cast.username[cast.demo_id],
        password=DEMO_PASSWORD,
        seconds={"total": time.perf_counter() - started},
    )


def _lock_unless_used() -> DemoReport | None:
    """Take the demo lock (held until the caller's transaction ends, so a concurrent seed_demo
    waits, then sees these users); the refusal to return when the site already has accounts
    other than staff and superusers, else None."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", list(DEMO_LOCK))
    existing = User.objects.filter(is_staff=False, is_superuser=False).count()
    if existing:
        return DemoReport(
            seeded=False,
            message=f"Demo data not seeded: the site already has {existing:,} accounts." + _demo_login_hint(),
        )
    return None


def _demo_login_hint() -> str:
    if User.objects.filter(username__iexact=DEMO_USERNAME, is_staff=False, is_superuser=False).exists():
        return f" Demo login (unless changed): {DEMO_USERNAME} / {DEMO_PASSWORD}"
    return ""


# --- People --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Cast:
    """Who the demo rows are about: the people whose usernames are free, then the demo account.
    Times are microseconds after the id epoch."""

    ids: list[int]  # the people's, then the demo account's (last)
    by_id: dict[int, Persona]  # the people only
    username: dict[int, str]
    joined: dict[int, int]
    seen: dict[int, int]  # last visit

    @property
    def demo_id(self) -> int:
        return self.ids[-1]

    @property
    def person_ids(self) -> list[int]:
        return self.ids[:-1]


def _load_people(rng: random.Random, *, random_seed: int, now_us: int, say: Progress) -> _Cast:
    """COPY the people (joined months ago, verified at once, seen in the last day and a half) and
    the demo account. SeedError when staff hold both demo usernames."""
    free = _free_usernames([persona.username for persona in PERSONAS] + [DEMO_USERNAME, "demo_user"])
    people = [persona for persona in PERSONAS if persona.username in free]
    demo_name = next((name for name in (DEMO_USERNAME, "demo_user") if name in free), None)
    if demo_name is None:
        raise SeedError(f"the usernames {DEMO_USERNAME} and demo_user are both taken by staff accounts")
    ids = reserve_user_ids(len(people) + 1)
    demo_id, person_ids = ids[-1], ids[:-1]
    by_id = dict(zip(person_ids, people, strict=True))
    username = {user_id: persona.username for user_id, persona in by_id.items()} | {demo_id: demo_name}
    seen = {user_id: now_us - rng.randrange(5 * 60 * SECOND_US, 36 * HOUR_US) for user_id in person_ids}
    seen[demo_id] = now_us - 60 * SECOND_US
    joined = {user_id: now_us - rng.randrange(60 * DAY_US, 900 * DAY_US) for user_id in ids}
    cast = _Cast(ids=ids, by_id=by_id, username=username, joined=joined, seen=seen)
    # Their own generator, so follows and tweets stay what they were for this seed.
    positions = demo_positions(random.Random(random_seed + 1), person_ids=person_ids, demo_id=demo_id)  # noqa: S311
    meter = Meter("users", len(ids), say, "users")
    copy_users(_people_rows(rng, cast, positions, now_us=now_us), meter)
    meter.finish()
    return cast


def _free_usernames(candidates: Sequence[str]) -> set[str]:
    """Those of `candidates` whose username and demo email are both unused (case-insensitively)."""
    lowered = [name.lower() for name in candidates]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT lower(username), lower(email) FROM accounts_user"
            " WHERE lower(username) = ANY(%s) OR lower(email) = ANY(%s)",
            [lowered, [f"{name}@{DEMO_EMAIL_DOMAIN}" for name in lowered]],
        )
        taken = {value for row in cursor.fetchall() for value in row}
    return {
        name for name in candidates if name.lower() not in taken and f"{name.lower()}@{DEMO_EMAIL_DOMAIN}" not in taken
    }


def _people_rows(
    rng: random.Random, cast: _Cast, positions: dict[int, tuple[float, float]], *, now_us: int
) -> Iterator[UserRow]:
    """One row per account, as COPY reads them."""
    unusable = make_password(None)  # the people are scenery: only the demo account logs in
    for user_id in cast.ids:
        persona = cast.by_id.get(user_id)
        lat, lon = positions.get(user_id, (None, None))
        yield UserRow(
            id=user_id,
            username=cast.username[user_id],
            name=persona.name if persona else "Demo Visitor",
            email=f"{cast.username[user_id].lower()}@{DEMO_EMAIL_DOMAIN}",
            bio=persona.bio if persona else DEMO_BIO,
            date_joined=moment_at(cast.joined[user_id]),
            last_active=moment_at(cast.seen[user_id]),
            verified_at=moment_at(cast.joined[user_id] + rng.randrange(60, 3600) * SECOND_US),
            password=make_password(DEMO_PASSWORD) if persona is None else unusable,
            latitude=lat,
            longitude=lon,
            # Now: a GEO rebuild running elsewhere meanwhile replays changes this recent.
            location_updated_at=moment_at(now_us) if user_id in positions else None,
        )


# --- Follows and tweets --------------------------------------------------------------------------


def _load_follows(rng: random.Random, cast: _Cast, say: Progress) -> tuple[dict[int, list[int]], int]:
    """COPY the follows, each dated between both accounts joining and the follower's last visit.
    Returns ({follower: followees}, how many)."""
    following = _draw_following(rng, cast)
    pairs = sorted((follower, followee) for follower, followees in following.items() for followee in followees)
    joined, seen = cast.joined, cast.seen
    stamp = {
        pair: moment_at(rng.randint(max(joined[pair[0]], joined[pair[1]]), seen[pair[0]])).isoformat()
        for pair in pairs
    }
    lines = "".join(f"{follower}\t{followee}\t{stamp[(follower, followee)]}\n" for follower, followee in pairs)
    meter = Meter("follows", len(pairs), say, "follows")
    copy_follows(iter([(len(pairs), lines)]), meter, rows=len(pairs))
    meter.finish()
    return following, len(pairs)


def _draw_following(rng: random.Random, cast: _Cast) -> dict[int, list[int]]:
    """People follow 8-18 others, the famous and those who share a topic more often; the demo
    account follows most of them, and a few follow it back."""
    by_id, person_ids = cast.by_id, cast.person_ids
    following: dict[int, list[int]] = {}
    for user_id, persona in by_id.items():
        others = [other for other in person_ids if other != user_id]
        weights = [by_id[o].fame * (3 if set(by_id[o].topics) & set(persona.topics) else 1) for o in others]
        following[user_id] = _weighted_sample(rng, others, weights, min(len(others), rng.randint(8, 18)))
    fame = [by_id[user_id].fame for user_id in person_ids]
    following[cast.demo_id] = _weighted_sample(rng, person_ids, fame, min(len(person_ids), 28))
    for user_id in rng.sample(person_ids, min(len(person_ids), 6)):
        following[user_id].append(cast.demo_id)
    return following


def _weighted_sample(rng: random.Random, items: Sequence[int], weights: Sequence[float], count: int) -> list[int]:
    """`count` distinct items, each draw proportional to its weight among those left."""
    pool, left = list(items), list(weights)
    chosen: list[int] = []
    for _ in range(min(count, len(pool))):
        index = bisect.bisect(list(accumulate(left)), rng.random() * sum(left))
        index = min(index, len(pool) - 1)
        chosen.append(pool.pop(index))
        left.pop(index)
    return chosen


def _load_tweets(
    rng: random.Random, cast: _Cast, following: dict[int, list[int]], *, now_us: int, say: Progress
) -> int:
    """COPY the tweets, around ids already taken in their window; returns how many were written."""
    plan = _draw_tweets(rng, cast, following, now_us=now_us)
    meter = Meter("tweets", len(plan), say, "tweets")
    window = (plan[0][0] - SECOND_US, now_us) if plan else (now_us, now_us)
    tweets = copy_tweets(tweet_rows(plan, existing=existing_ids(*window)), meter)
    meter.finish()
    return tweets


def _draw_tweets(
    rng: random.Random, cast: _Cast, following: dict[int, list[int]], *, now_us: int
) -> list[tuple[int, int, str]]:
    """(time, author, text) sorted by time: every topic line once, by someone who writes about it,
    and the demo account's welcome (replies come after, in _load_replies); spread over the last DEMO_DAYS,
    denser lately, each before its author's last visit. "{mention}" becomes someone the author
    follows, preferably someone who writes about the same thing."""
    by_id, seen = cast.by_id, cast.seen
    writers: dict[str, list[int]] = {}
    for user_id, persona in by_id.items():
        for topic in persona.topics:
            writers.setdefault(topic, []).append(user_id)
    drafts: list[tuple[int, str, str]] = []
    for topic, lines_of_topic in TOPIC_TWEETS.items():
        for line in lines_of_topic:
            if writers.get(topic):
                drafts.append((rng.choice(writers[topic]), topic, line))
    plan: list[tuple[int, int, str]] = []
    for author, topic, line in drafts:
        peers = [other for other in following[author] if other in by_id and topic in by_id[other].topics]
        mentioned = rng.choice(peers or following[author] or [author])
        text = line.replace("{mention}", f"@{cast.username[mentioned]}")
        moment = now_us - 3 * 60 * SECOND_US - int(DEMO_DAYS * DAY_US * rng.random() ** 2)
        if moment > seen[author]:
            moment = seen[author] - int((seen[author] - (now_us - DEMO_DAYS * DAY_US)) * rng.random() ** 2)
        plan.append((inside_ms(moment, rng), author, text))
    welcome = now_us - 2 * DAY_US
    plan.append((inside_ms(welcome, rng), cast.demo_id, "Hello TweetHub 👋 Trying out the demo account. #hello"))
    plan.sort()
    return plan


def _load_replies(
    rng: random.Random, cast: _Cast, following: dict[int, list[int]], *, now_us: int, say: Progress
) -> int:
    """Replies, back-and-forth and self-threads under the tweets just loaded (adminpanel.seed.replies)."""
    meter = Meter("replies", 0, say, "replies")
    made = add_demo_replies(
        rng, ids=cast.ids, usernames=cast.username, following=following, seen=cast.seen, demo_id=cast.demo_id,
        now_us=now_us, meter=meter,
    )  # fmt: skip
    meter.finish(f"({made.self_replies} in self-threads, deepest chain {made.deepest})")
    return made.replies


# --- Redis ---------------------------------------------------------------------------------------


def _build_redis_state(ids: list[int], say: Progress) -> tuple[int, str]:
    """(feeds written, a note for the report). After the commit: feeds, trends and the GEO index.
    A Redis failure is reported in the note, not raised: home pages are served from SQL and
    rebuild their feeds, and "nearby" rebuilds its index on first use."""
    feeds = 0
    try:
        feeds = build_derived(ids, say)
        index_positions(say)
    except redis.RedisError as error:
        return feeds, (
            f" Feeds or the nearby index not built ({error}): home pages are served from SQL and rebuild"
            " their feeds; people nearby rebuilds its index on first use."
        )
    return feeds, ""
