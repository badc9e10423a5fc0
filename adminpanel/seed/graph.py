"""seed_graph: a large power-law social graph for load tests and `make bench`."""

from __future__ import annotations

import bisect
import random
import re
import time
from collections.abc import Callable, Iterator
from itertools import accumulate

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import connection

from adminpanel.seed.common import (
    DAY_US,
    EPOCH_US,
    HOUR_US,
    SECOND_US,
    SEED_EMAIL_DOMAIN,
    SEED_PASSWORD,
    Meter,
    SeedError,
    SeedReport,
    quiet,
)
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
    tidy,
    tweet_rows,
)
from adminpanel.seed.places import city_positions, index_positions
from adminpanel.seed.text import (
    BIOS,
    FIRST_NAMES,
    LAST_NAMES,
    TextMaker,
)
from tweethub.usernames import USERNAME_MAX_LENGTH

# What a requested username prefix may hold (usernames are prefix + a number).
_PREFIX = re.compile(r"[A-Za-z0-9_]+")

# --- The graph -----------------------------------------------------------------------------------


def _fresh_prefix(prefix: str, users: int) -> str:
    """`prefix`, or prefix + a letter, such that none of prefix1..prefixN (nor their emails) exists."""
    if not _PREFIX.fullmatch(prefix):
        raise SeedError(f"username prefix {prefix!r}: use letters, digits and underscores only")
    candidates = [prefix] + [prefix + letter for letter in "bcdefghjkmnpqrstuvwxyz"]
    for candidate in candidates:
        if len(candidate) + len(str(users)) > USERNAME_MAX_LENGTH:
            break
        names = [f"{candidate}{n}".lower() for n in range(1, users + 1)]
        emails = [f"{name}@{SEED_EMAIL_DOMAIN}" for name in names]
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT EXISTS (SELECT 1 FROM accounts_user"
                " WHERE lower(username) = ANY(%s) OR lower(email) = ANY(%s))",
                [names, emails],
            )
            row = cursor.fetchone()
        if row is not None and not row[0]:
            return candidate
    raise SeedError(
        f"usernames {prefix}1..{prefix}{users} are taken (and so are the alternatives that fit in "
        f"{USERNAME_MAX_LENGTH} characters): pass another username prefix"
    )


def _degrees(rng: random.Random, users: int, total: int) -> list[int]:
    """Out-degrees varying around the mean (gamma, shape 1.5), summing exactly to `total`."""
    if users == 0 or total == 0:
        return [0] * users
    cap = users - 1
    raw = [rng.gammavariate(1.5, 1.0) for _ in range(users)]
    scale = total / sum(raw)
    degrees = [min(cap, int(value * scale)) for value in raw]
    missing = total - sum(degrees)
    while missing > 0:
        index = rng.randrange(users)
        if degrees[index] < cap:
            degrees[index] += 1
            missing -= 1
    return degrees


def _followees(
    rng: random.Random, follower: int, degree: int, population: range, cum_weights: list[float]
) -> list[int]:
    """`degree` distinct followee indexes drawn by popularity, never the follower itself."""
    chosen: set[int] = set()
    for _attempt in range(8):
        need = degree - len(chosen)
        if need <= 0:
            break
        for index in rng.choices(population, cum_weights=cum_weights, k=need + need // 4 + 2):
            if index != follower:
                chosen.add(index)
                if len(chosen) == degree:
                    break
    if len(chosen) < degree:
        # A tiny graph where the popular accounts are already taken: fill in uniformly.
        rest = [index for index in population if index != follower and index not in chosen]
        chosen.update(rng.sample(rest, degree - len(chosen)))
    return sorted(chosen)


def seed_graph(
    *,
    users: int,
    avg_follows: int,
    tweets: int,
    days: int = 28,
    inactive_share: float = 0.2,
    sharing_share: float = 0.3,
    random_seed: int = 1,
    username_prefix: str = "user",
    progress: Callable[[str], None] | None = None,
    build_feeds: bool = True,
) -> SeedReport:
    """Add a realistic social graph: `users` accounts, users * avg_follows follows, `tweets` tweets.

    - Followers follow a power law (Zipf over a random popularity rank, exponent 1): at 100K users
      a handful of accounts have tens of thousands of followers, the median has a few. Out-degrees
      vary around avg_follows (gamma distributed); no duplicate, no self-follow.
    - `inactive_share` of the users were last seen before ACTIVE_DAYS (a fifth of those never came
      back: last_active NULL); the others within it, most of them recently.
    - Tweets spread over the last `days` days (denser towards now, all in the past), each before
      its author's last visit; authors' activity is heavy-tailed; hashtags from a Zipf vocabulary
      with daily hot tags; some @mentions of popular accounts.
    - `sharing_share` of the users (active or not) share a position for "people nearby": around
      ~40 world cities in proportion to their populations (Gaussian, tens of km), snapped to the
      ~1 km grid of accounts.services.location_share, latitude within its +-85 degrees.
    - Usernames are username_prefix + 1..users; if any is taken, prefix + a letter (b, c, ...)
      is used instead (SeedReport.username_prefix says which). SeedError if none fits.
    - build_feeds: feeds for the active users (timelines.services.feeds_bulk_build), trend
      counts (tweets.trends.recount) and the GEO index of shared positions, rebuilt whole from
      Postgres (accounts.services.geo_index_rebuild: well under a second for 30K sharers); all
      Redis-only. Without it, the first "nearby" read rebuilds the index if none is marked ready,
      but an index already marked ready misses the new sharers until the periodic rebuild.

    Deterministic for a given random_seed (and clock). Every account's password is SEED_PASSWORD.
    """
    shares_ok = 0 <= inactive_share <= 1 and 0 <= sharing_share <= 1
    if users < 0 or tweets < 0 or avg_follows < 0 or days < 1 or not shares_ok:
        raise SeedError("sizes must be positive, days at least 1, inactive_share and sharing_share between 0 and 1")
    if users and avg_follows > users - 1:
        raise SeedError(f"{users} users can follow at most {users - 1} others each (asked: {avg_follows})")
    if tweets and not users:
        raise SeedError("tweets need users")
    say = progress or quiet
    rng = random.Random(random_seed)  # noqa: S311 - synthetic data, reproducible on purpose
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    now_us = current_us()
    active_days = settings.ACTIVE_DAYS

    # Users ----------------------------------------------------------------------------------
    meter = Meter("users", users, say, "users")
    prefix = _fresh_prefix(username_prefix, users) if users else username_prefix
    if prefix != username_prefix:
        say(f"note: {username_prefix}1.. are taken, so the usernames are {prefix}1..{prefix}{users}")
    inactive = set(rng.sample(range(users), round(users * inactive_share)))
    last_active: list[int | None] = []
    joined: list[int] = []
    for index in range(users):
        if index in inactive:
            seen = (
                None if rng.random() < 0.2 else now_us - (active_days * DAY_US + HOUR_US) - rng.randrange(60 * DAY_US)
            )
        else:
            # Most active users were here today; the window's far end stays an hour away.
            seen = now_us - 60 * SECOND_US - int((active_days * DAY_US - HOUR_US) * rng.random() ** 3)
        start = max(days * DAY_US, now_us - seen if seen is not None else 0) + DAY_US
        joined.append(now_us - start - rng.randrange(730 * DAY_US))
        last_active.append(seen)
    window_start = now_us - days * DAY_US
    # Who can have tweeted in the window: seen after it began (an hour of slack for the clamp).
    posting = [index for index in range(users) if (last_active[index] or 0) > window_start + HOUR_US]
    if tweets and not posting:
        raise SeedError("no user was active within the tweet window: lower inactive_share or raise days")
    # Positions from their own generator: the rest of the graph stays what it was for this seed.
    places_rng = random.Random(f"{random_seed}:places")  # noqa: S311
    sharing = places_rng.sample(range(users), round(users * sharing_share))
    positions = dict(zip(sharing, city_positions(places_rng, len(sharing)), strict=True))
    shared_at = {
        # When they shared it: some time between joining and their last visit.
        index: joined[index]
        + places_rng.randrange(max(1, (last_active[index] or joined[index] + DAY_US) - joined[index]))
        for index in sharing
    }
    password = make_password(SEED_PASSWORD)
    ids = reserve_user_ids(users)

    def user_rows() -> Iterator[UserRow]:
        for index, user_id in enumerate(ids):
            username = f"{prefix}{index + 1}"
            seen = last_active[index]
            lat, lon = positions.get(index, (None, None))
            yield UserRow(
                id=user_id,
                username=username,
                name=f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}",
                email=f"{username.lower()}@{SEED_EMAIL_DOMAIN}",
                bio=rng.choice(BIOS),
                date_joined=moment_at(joined[index]),
                last_active=None if seen is None else moment_at(seen),
                verified_at=moment_at(joined[index] + rng.randrange(1, 3600) * SECOND_US),
                password=password,
                latitude=lat,
                longitude=lon,
                location_updated_at=moment_at(shared_at[index]) if index in shared_at else None,
            )

    copy_users(user_rows(), meter)
    tidy("accounts_user")
    seconds["users"] = meter.finish()

    # Follows --------------------------------------------------------------------------------
    total_follows = users * avg_follows
    meter = Meter("follows", total_follows, say, "follows")
    population = range(users)
    rank = list(population)
    rng.shuffle(rank)
    popularity = [1.0 / (rank[index] + 3) for index in population]
    follow_cum = list(accumulate(popularity))
    degrees = _degrees(rng, users, total_follows)
    hours = (now_us - min(joined, default=now_us)) // HOUR_US + 1
    first_hour = now_us - hours * HOUR_US
    stamps = [moment_at(first_hour + hour * HOUR_US).isoformat() for hour in range(hours)]

    def follow_chunks() -> Iterator[tuple[int, str]]:
        lines: list[str] = []
        for index in population:
            degree = degrees[index]
            if not degree:
                continue
            follower = ids[index]
            low = (joined[index] - first_hour) // HOUR_US
            seen = last_active[index]
            high = max(low, ((seen if seen is not None else joined[index] + DAY_US) - first_hour) // HOUR_US)
            high = min(high, hours - 1)
            for followee in _followees(rng, index, degree, population, follow_cum):
                lines.append(f"{follower}\t{ids[followee]}\t{stamps[rng.randint(low, high)]}\n")
            if len(lines) >= 20_000:
                yield len(lines), "".join(lines)
                lines = []
        if lines:
            yield len(lines), "".join(lines)

    follows = copy_follows(follow_chunks(), meter, rows=total_follows)
    tidy("follows_follow")
    seconds["follows"] = meter.finish()

    # Tweets ---------------------------------------------------------------------------------
    meter = Meter("tweets", tweets, say, "tweets")
    activity = [rng.paretovariate(1.3) * (5 if rank[index] < max(1, users // 100) else 1) for index in posting]
    author_cum = list(accumulate(activity))

    def mention_pick() -> str:
        # Popular accounts are mentioned more, as they are followed more.
        return f"{prefix}{bisect.bisect(follow_cum, rng.random() * follow_cum[-1]) + 1}"

    maker = TextMaker(rng, mention_pick)
    plan: list[tuple[int, int]] = []
    span = days * DAY_US - SECOND_US  # the newest tweet is at least a second old
    for index in rng.choices(posting, cum_weights=author_cum, k=tweets):
        moment = now_us - SECOND_US - int(span * rng.random() ** 1.25)  # denser towards now
        seen = last_active[index]
        assert seen is not None
        if moment > seen:  # not after their last visit: redraw, densest just before it
            moment = seen - int((seen - window_start) * rng.random() ** 1.25)
        plan.append((inside_ms(moment, rng), index))
    plan.sort()
    existing = existing_ids(window_start - SECOND_US, now_us) if plan else set()

    def tweet_plan() -> Iterator[tuple[int, int, str]]:
        for moment, index in plan:
            yield moment, ids[index], maker.text((moment + EPOCH_US) // DAY_US)

    written = copy_tweets(tweet_rows(tweet_plan(), existing=existing), meter)
    tidy("tweets_tweet")
    seconds["tweets"] = meter.finish()

    # Counters -------------------------------------------------------------------------------
    meter = Meter("stats", users, say, "users")
    insert_stats(ids)
    meter.advance(users)
    seconds["stats"] = meter.finish()

    # Feeds ------------------------------------------------------------------------------------
    cutoff = current_us() - active_days * DAY_US
    active_ids = [ids[index] for index in population if (last_active[index] or 0) >= cutoff]
    feeds = 0
    started_feeds = time.perf_counter()
    if build_feeds:
        feeds = build_derived(active_ids, say)
    seconds["feeds"] = time.perf_counter() - started_feeds
    started_geo = time.perf_counter()
    if build_feeds:
        index_positions(say)
    seconds["geo"] = time.perf_counter() - started_geo
    seconds["total"] = time.perf_counter() - started
    return SeedReport(
        users=users,
        follows=follows,
        tweets=written,
        feeds=feeds,
        active_user_ids=active_ids,
        seconds=seconds,
        username_prefix=prefix,
        user_ids=ids,
    )
