"""seed_graph: a large power-law social graph for load tests and `make bench`, loaded phase by phase
(accounts, follows, tweets, counters, Redis state). adminpanel.seed.shape draws what each loads."""

from __future__ import annotations

import bisect
import random
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

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
    Progress,
    SeedError,
    SeedReport,
    quiet,
)
from adminpanel.seed.engagement import GRAPH_LIKES, insert_likes
from adminpanel.seed.loading import (
    UserRow,
    build_derived,
    copy_follows,
    copy_tweets,
    copy_users,
    current_us,
    existing_ids,
    insert_stats,
    moment_at,
    reserve_user_ids,
    tidy,
    tweet_rows,
)
from adminpanel.seed.places import index_positions
from adminpanel.seed.replies import link_graph_replies
from adminpanel.seed.reposts import GRAPH_SHARES, link_shares
from adminpanel.seed.shape import (
    Popularity,
    draw_author_weights,
    draw_followees,
    draw_out_degrees,
    draw_popularity,
    draw_positions,
    draw_tweet_times,
    draw_visits,
)
from adminpanel.seed.text import BIOS, FIRST_NAMES, LAST_NAMES, TextMaker
from tweethub.usernames import USERNAME_MAX_LENGTH

# What a requested username prefix may hold (usernames are prefix + a number).
_PREFIX = re.compile(r"[A-Za-z0-9_]+")


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

    In phases, each committed on its own and saying the shape it gives: _load_accounts (usernames
    username_prefix + 1..users, or a fresh prefix: SeedReport.username_prefix; `inactive_share`
    last seen before ACTIVE_DAYS; `sharing_share` sharing a position), _load_follows, _load_tweets
    (over the last `days` days), insert_stats (exact counters) and _build_redis_state (feeds of the
    active users, trends and the GEO index; skipped without build_feeds).

    SeedError, before anything is written, when the request cannot be met. Deterministic for a
    given random_seed (and clock). Every account's password is SEED_PASSWORD.
    """
    shares = (inactive_share, sharing_share)
    _check_request(users=users, avg_follows=avg_follows, tweets=tweets, days=days, shares=shares)
    started = time.perf_counter()
    run = _Run(rng=random.Random(random_seed), now_us=current_us(), say=progress or quiet)  # noqa: S311
    with run.phase("users", users) as meter:
        accounts = _load_accounts(
            run, meter, users=users, days=days, tweets=tweets, shares=shares, seed=random_seed, prefix=username_prefix
        )
    with run.phase("follows", users * avg_follows) as meter:
        popularity = draw_popularity(run.rng, users)
        follows = _load_follows(run, meter, accounts, popularity, total=users * avg_follows)
    with run.phase("tweets", tweets) as meter:
        written = _load_tweets(run, meter, accounts, popularity, tweets=tweets)
    with run.phase("stats", users, unit="users") as meter:
        insert_stats(accounts.ids)
        meter.advance(users)
    # After the counters (it draws followees by userstats.following), before the feeds (the reply rule).
    with run.phase("replies", written, unit="tweets") as meter:
        made = link_graph_replies(accounts.ids, meter, random_seed=random_seed)
    run.say(
        f"note: {made.replies:,} of the {written:,} tweets are replies ({made.self_replies:,} to oneself), "
        f"the deepest chain {made.deepest}"
    )
    # After the replies (only tweets nobody answered are shared), before the likes (none on reposts).
    with run.phase("reposts", 1, unit="statements") as meter:
        shared = link_shares(accounts.ids, shares=GRAPH_SHARES, random_seed=random_seed)
        meter.advance(1)
    run.say(f"note: {shared.reposts:,} of them reposts, {shared.quotes:,} quotes")
    with run.phase("likes", 1, unit="statements") as meter:
        insert_likes(author_ids=accounts.ids, percent=GRAPH_LIKES[0], chance=GRAPH_LIKES[1], seed=random_seed)
        meter.advance(1)
    active_ids, feeds = _build_redis_state(run, accounts, build_feeds=build_feeds)
    run.seconds["total"] = time.perf_counter() - started
    return SeedReport(
        users=users,
        follows=follows,
        tweets=written,
        feeds=feeds,
        active_user_ids=active_ids,
        seconds=run.seconds,
        username_prefix=accounts.prefix,
        user_ids=accounts.ids,
    )


def _check_request(*, users: int, avg_follows: int, tweets: int, days: int, shares: tuple[float, float]) -> None:
    """SeedError for a request no graph can meet, before anything is written."""
    if users < 0 or tweets < 0 or avg_follows < 0 or days < 1 or not all(0 <= share <= 1 for share in shares):
        raise SeedError("sizes must be positive, days at least 1, inactive_share and sharing_share between 0 and 1")
    if users and avg_follows > users - 1:
        raise SeedError(f"{users} users can follow at most {users - 1} others each (asked: {avg_follows})")
    if tweets and not users:
        raise SeedError("tweets need users")


@dataclass
class _Run:
    """What the phases of one seed_graph call share. One random generator for all of them (the
    places have their own), so the order of their draws is part of what a seed means; one reading of
    the clock; the progress callback; and each phase's time (SeedReport.seconds)."""

    rng: random.Random
    now_us: int
    say: Progress
    seconds: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def phase(self, name: str, total: int, unit: str = "") -> Iterator[Meter]:
        """The progress meter of phase `name`; its time is kept once the phase succeeds."""
        meter = Meter(name, total, self.say, unit or name)
        yield meter
        self.seconds[name] = meter.finish()


# --- Accounts ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Accounts:
    """What the accounts phase leaves for the others. Account `index` (0..users-1) is ids[index],
    username prefix + str(index + 1); times are microseconds after the id epoch."""

    prefix: str
    ids: list[int]
    joined: list[int]
    last_active: list[int | None]  # None: signed up and never came back
    posting: list[int]  # indexes of those seen after the tweet window began: who can have tweeted
    window_start: int  # when the tweet window begins


def _load_accounts(
    run: _Run,
    meter: Meter,
    *,
    users: int,
    days: int,
    tweets: int,
    shares: tuple[float, float],
    seed: int,
    prefix: str,
) -> _Accounts:
    """COPY the accounts (then ANALYZE and VACUUM them). `shares`: (inactive, sharing a position).
    SeedError before any write when no username prefix fits or nobody was active within the tweet
    window."""
    fresh = _fresh_prefix(prefix, users) if users else prefix
    if fresh != prefix:
        run.say(f"note: {prefix}1.. are taken, so the usernames are {fresh}1..{fresh}{users}")
    joined, last_active = draw_visits(run.rng, users=users, days=days, inactive_share=shares[0], now_us=run.now_us)
    window_start = run.now_us - days * DAY_US
    # Who can have tweeted in the window: seen after it began (an hour of slack for the clamp).
    posting = [index for index in range(users) if (last_active[index] or 0) > window_start + HOUR_US]
    if tweets and not posting:
        raise SeedError("no user was active within the tweet window: lower inactive_share or raise days")
    # Positions from their own generator: the rest of the graph stays what it was for this seed.
    places_rng = random.Random(f"{seed}:places")  # noqa: S311
    positions, shared_at = draw_positions(places_rng, shares[1], joined, last_active)
    password = make_password(SEED_PASSWORD)
    accounts = _Accounts(fresh, reserve_user_ids(users), joined, last_active, posting, window_start)
    copy_users(_account_rows(run.rng, accounts, positions, shared_at, password), meter)
    tidy("accounts_user")
    return accounts


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


def _account_rows(
    rng: random.Random,
    accounts: _Accounts,
    positions: dict[int, tuple[float, float]],
    shared_at: dict[int, int],
    password: str,
) -> Iterator[UserRow]:
    """One row per account, drawn as COPY asks for it (names and bios from text's vocabulary)."""
    for index, user_id in enumerate(accounts.ids):
        username = f"{accounts.prefix}{index + 1}"
        seen = accounts.last_active[index]
        lat, lon = positions.get(index, (None, None))
        yield UserRow(
            id=user_id,
            username=username,
            name=f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}",
            email=f"{username.lower()}@{SEED_EMAIL_DOMAIN}",
            bio=rng.choice(BIOS),
            date_joined=moment_at(accounts.joined[index]),
            last_active=None if seen is None else moment_at(seen),
            verified_at=moment_at(accounts.joined[index] + rng.randrange(1, 3600) * SECOND_US),
            password=password,
            latitude=lat,
            longitude=lon,
            location_updated_at=moment_at(shared_at[index]) if index in shared_at else None,
        )


# --- Follows and tweets --------------------------------------------------------------------------


def _load_follows(run: _Run, meter: Meter, accounts: _Accounts, popularity: Popularity, *, total: int) -> int:
    """COPY `total` follows (then ANALYZE and VACUUM them); returns how many were written.

    Followees by popularity (shape.Popularity), out-degrees around the mean (gamma distributed); no
    duplicate, no self-follow. Each follow is stamped on an hour between the follower's joining and
    last visit (one timestamp string per hour, made once: there are millions of rows)."""
    degrees = draw_out_degrees(run.rng, len(accounts.ids), total)
    hours = (run.now_us - min(accounts.joined, default=run.now_us)) // HOUR_US + 1
    first_hour = run.now_us - hours * HOUR_US
    stamps = [moment_at(first_hour + hour * HOUR_US).isoformat() for hour in range(hours)]
    chunks = _follow_chunks(run.rng, accounts, popularity, degrees, stamps, first_hour)
    follows = copy_follows(chunks, meter, rows=total)
    tidy("follows_follow")
    return follows


def _follow_chunks(
    rng: random.Random,
    accounts: _Accounts,
    popularity: Popularity,
    degrees: list[int],
    stamps: list[str],
    first_hour: int,
) -> Iterator[tuple[int, str]]:
    """COPY text lines (follower, followee, created_at), sorted by follower then followee, in chunks
    of about 20,000 rows, as copy_follows reads them."""
    ids, population = accounts.ids, range(len(accounts.ids))
    lines: list[str] = []
    for index in population:
        degree = degrees[index]
        if not degree:
            continue
        follower = ids[index]
        low = (accounts.joined[index] - first_hour) // HOUR_US
        seen = accounts.last_active[index]
        high = max(low, ((seen if seen is not None else accounts.joined[index] + DAY_US) - first_hour) // HOUR_US)
        high = min(high, len(stamps) - 1)
        for followee in draw_followees(rng, index, degree, population, popularity.cum_weights):
            lines.append(f"{follower}\t{ids[followee]}\t{stamps[rng.randint(low, high)]}\n")
        if len(lines) >= 20_000:
            yield len(lines), "".join(lines)
            lines = []
    if lines:
        yield len(lines), "".join(lines)


def _load_tweets(run: _Run, meter: Meter, accounts: _Accounts, popularity: Popularity, *, tweets: int) -> int:
    """COPY `tweets` tweets (then ANALYZE and VACUUM them); returns how many were written.

    Spread over the tweet window (denser towards now, all in the past), each before its author's
    last visit; authors' activity is heavy-tailed; hashtags from a Zipf vocabulary with daily hot
    tags (text.TextMaker); some @mentions of popular accounts."""
    rng, follow_cum = run.rng, popularity.cum_weights
    author_cum = draw_author_weights(rng, accounts.posting, popularity)

    def mention_pick() -> str:
        # Popular accounts are mentioned more, as they are followed more.
        return f"{accounts.prefix}{bisect.bisect(follow_cum, rng.random() * follow_cum[-1]) + 1}"

    maker = TextMaker(rng, mention_pick)  # before the times: it draws its vocabulary from rng too
    plan = draw_tweet_times(
        rng,
        posting=accounts.posting,
        author_cum=author_cum,
        last_active=accounts.last_active,
        tweets=tweets,
        window_start=accounts.window_start,
        now_us=run.now_us,
    )
    taken = existing_ids(accounts.window_start - SECOND_US, run.now_us) if plan else set()
    # The texts are written as COPY reads them; the day picks that day's hot tags.
    texts = ((moment, accounts.ids[index], maker.text((moment + EPOCH_US) // DAY_US)) for moment, index in plan)
    written = copy_tweets(tweet_rows(texts, existing=taken), meter)
    tidy("tweets_tweet")
    return written


# --- Redis ---------------------------------------------------------------------------------------


def _build_redis_state(run: _Run, accounts: _Accounts, *, build_feeds: bool) -> tuple[list[int], int]:
    """(ids of the active accounts, feeds written). With build_feeds: their feeds
    (timelines.services.feeds_bulk_build), the trend counts (tweets.trends.recount) and the GEO
    index of shared positions, rebuilt whole from Postgres (accounts.services.geo_index_rebuild:
    well under a second for 30K sharers). Without it, the first "nearby" read rebuilds the index
    if none is marked ready, but an index already marked ready misses the new sharers until the
    periodic rebuild. Times the "feeds" and "geo" phases either way."""
    cutoff = current_us() - settings.ACTIVE_DAYS * DAY_US
    active_ids = [
        user_id for user_id, seen in zip(accounts.ids, accounts.last_active, strict=True) if (seen or 0) >= cutoff
    ]
    feeds = 0
    started_feeds = time.perf_counter()
    if build_feeds:
        feeds = build_derived(active_ids, run.say)
    run.seconds["feeds"] = time.perf_counter() - started_feeds
    started_geo = time.perf_counter()
    if build_feeds:
        index_positions(run.say)
    run.seconds["geo"] = time.perf_counter() - started_geo
    return active_ids, feeds
