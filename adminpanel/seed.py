"""Synthetic data: a large realistic social graph (seed_graph) and a small lived-in demo site (seed_demo).

Both ADD rows to whatever the database holds and load them the same way: psycopg COPY straight
into the tables, one transaction per phase, then exact counters in one INSERT ... SELECT, then the
derived Redis state (home feeds of active users, trend counts). Nothing goes through the services:
a 100K-user graph would take hours one follow at a time. What the services would guarantee is
guaranteed here by construction, and checked by tests/adminpanel/test_seed.py:

- tweet ids are time-sortable exactly like real ones (tweets.ids.id_for_time of created_at), unique,
  and every created_at is in the past;
- `tags` and `mentions` are what tweets.parsing finds in the text (the parser is called, not
  re-implemented);
- counters equal COUNT(*); accounts over CELEBRITY_THRESHOLD followers start in pull mode (the rule
  of accounts.services.fanout_mode_after_follower_change: more followers than the threshold);
- feeds equal what timelines.services.feed_rebuild would build (feeds_bulk_build).

Preconditions: nothing else writes feeds while it runs (no fan-out for these tweets is queued:
they are history). Not atomic as a whole: a failure leaves the phases already committed. A big
load locks follows_follow while it rebuilds the indexes it would fill in random order (see
_copy_follows); foreign keys are checked row by row as always.

One module for both generators and the demo's text, which is most of its length.
"""

from __future__ import annotations

import bisect
import random
import re
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import accumulate

import redis
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import connection, transaction
from django.db.backends.utils import CursorWrapper
from django.utils import timezone

from accounts.models import DmPolicy, FanoutMode, User
from accounts.validators import USERNAME_MAX_LENGTH
from timelines.services import feeds_bulk_build
from tweets import trends
from tweets.ids import EPOCH, SEQUENCE_BITS, id_for_time
from tweets.parsing import tokens

Progress = Callable[[str], None]

# Every account seed_graph makes shares this password (hashed once: hashing 100K passwords would
# take hours), so load tests can log in through the real login form. seed_data refuses to run on a
# site without DEBUG or DEMO_MODE, so no real site gets 100K accounts with a published password.
SEED_PASSWORD = "seeded-account-password"  # noqa: S105 - published on purpose, see above
SEED_EMAIL_DOMAIN = "seed.tweethub.test"  # .test is reserved: these addresses reach nobody
DEMO_USERNAME = "demo"
# The demo site's shared login, printed by `manage.py seed_demo` (and `make run`). Public on purpose.
DEMO_PASSWORD = "tweethub-demo"  # noqa: S105
DEMO_EMAIL_DOMAIN = "demo.tweethub.test"
# Serialises seed_demo between processes (two `make run` sharing one dev stack).
DEMO_LOCK = (7302, 1)

_US = 1_000_000
_HOUR_US = 3600 * _US
_DAY_US = 24 * _HOUR_US
_SEQUENCES = 1 << SEQUENCE_BITS
EPOCH_US = (EPOCH - datetime(1970, 1, 1, tzinfo=EPOCH.tzinfo)) // timedelta(microseconds=1)
_PREFIX = re.compile(r"[A-Za-z0-9_]+")


class SeedError(Exception):
    """The request cannot be met (bad sizes, no free username prefix, no one active to tweet):
    raised before anything is written. (Except more than 4096 tweets in one millisecond, found
    while loading tweets: users and follows are then already in.)"""


@dataclass
class SeedReport:
    users: int
    follows: int
    tweets: int
    feeds: int
    active_user_ids: list[int]  # users with last_active within ACTIVE_DAYS (they get feeds)
    seconds: dict[str, float]  # per phase: "users", "follows", "tweets", "stats", "feeds", "total"
    username_prefix: str = ""  # the prefix used (a fresh one if the requested one was taken)
    user_ids: list[int] = field(default_factory=list)  # every seeded account, in username order


@dataclass
class DemoReport:
    seeded: bool
    message: str  # what happened, or why nothing was done
    users: int = 0
    follows: int = 0
    tweets: int = 0
    feeds: int = 0
    username: str = ""  # the demo login ("" when nothing was seeded and no demo account exists)
    password: str = ""
    seconds: dict[str, float] = field(default_factory=dict)


def _quiet(line: str) -> None:
    pass


class _Meter:
    """Progress of one phase: a line every 5% of `total` (bar, count, rate, elapsed; at most two a
    second), and a final line. Every line starts with the phase name, so a terminal can redraw
    them in place."""

    STEPS = 20

    def __init__(self, phase: str, total: int, say: Progress, unit: str) -> None:
        self.phase, self.total, self.say, self.unit = phase, max(total, 0), say, unit
        self.started = self.said_at = time.perf_counter()
        self.done_count = 0
        self.next_step = 1

    def _line(self, done: int) -> str:
        fraction = done / self.total if self.total else 1.0
        filled = round(fraction * 24)
        elapsed = time.perf_counter() - self.started
        rate = done / elapsed if elapsed > 0 else 0.0
        return (
            f"{self.phase:<8} [{'#' * filled}{'.' * (24 - filled)}] {fraction:4.0%} "
            f"{done:>11,}/{self.total:,} {self.unit}  {rate:>9,.0f}/s  {elapsed:6.1f}s"
        )

    def start(self) -> None:
        """Say the phase began (for a phase that cannot report its progress)."""
        self.say(self._line(0))

    def advance(self, count: int = 1) -> None:
        self.done_count += count
        if self.total and self.done_count * self.STEPS >= self.next_step * self.total:
            self.next_step = self.done_count * self.STEPS // self.total + 1
            now = time.perf_counter()
            # A phase over in a blink gets its final line only.
            if self.done_count < self.total and now - self.said_at >= 0.5:
                self.said_at = now
                self.say(self._line(self.done_count))

    def finish(self, note: str = "") -> float:
        elapsed = time.perf_counter() - self.started
        self.say(self._line(self.total) + (f"  {note}" if note else ""))
        return elapsed


# --- Loading: COPY into the tables --------------------------------------------------------------


@dataclass
class _UserRow:
    id: int
    username: str
    name: str
    email: str
    bio: str
    date_joined: datetime
    last_active: datetime | None
    verified_at: datetime | None
    password: str


def _load_settings(cursor: CursorWrapper) -> None:
    """Bulk statements run far past the site's statement timeout; these settings end with the
    transaction."""
    cursor.execute("SET LOCAL statement_timeout = 0")
    cursor.execute("SET LOCAL synchronous_commit = off")


def _reserve_user_ids(count: int) -> list[int]:
    """`count` fresh ids from the users' identity sequence: ours, whatever runs concurrently."""
    if count == 0:
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence('accounts_user', 'id')) FROM generate_series(1, %s)", [count]
        )
        return sorted(row[0] for row in cursor.fetchall())


def _copy_users(rows: Iterable[_UserRow], meter: _Meter) -> None:
    columns = (
        "id, password, is_superuser, is_staff, is_active, date_joined, username, name, email, bio, location, "
        "website, avatar, last_active, verified_at, dm_policy"
    )
    types = ["int8", "varchar", "bool", "bool", "bool", "timestamptz", "varchar", "varchar", "varchar", "varchar"]
    types += ["varchar", "varchar", "varchar", "timestamptz", "timestamptz", "varchar"]
    with transaction.atomic(), connection.cursor() as cursor:
        _load_settings(cursor)
        with cursor.cursor.copy(f"COPY accounts_user ({columns}) FROM STDIN") as copy:
            copy.set_types(types)
            for row in rows:
                copy.write_row(
                    (
                        row.id, row.password, False, False, True, row.date_joined, row.username, row.name,
                        row.email, row.bio, "", "", "", row.last_active, row.verified_at, DmPolicy.EVERYONE.value,
                    )
                )  # fmt: skip
                meter.advance()


# Loads at least this big rebuild the follows indexes that the load would fill in random order.
INDEX_REBUILD_MIN_ROWS = 500_000


def _random_order_indexes(cursor: CursorWrapper, table: str, leading: str) -> list[tuple[str, str]]:
    """(name, CREATE INDEX statement) of the plain indexes of `table` that start with column
    `leading`: rows arriving sorted by another column land all over them. Indexes behind a
    constraint (primary key, unique pair) are never among them."""
    cursor.execute(
        """
        SELECT c.relname, pg_get_indexdef(i.indexrelid)
        FROM pg_index i
        JOIN pg_class c ON c.oid = i.indexrelid
        JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
        WHERE i.indrelid = %s::regclass AND a.attname = %s AND NOT i.indisunique AND NOT i.indisprimary
            AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)
        ORDER BY c.relname
        """,
        [table, leading],
    )
    return [(name, definition) for name, definition in cursor.fetchall()]


def _copy_follows(lines: Iterator[tuple[int, str]], meter: _Meter, *, rows: int) -> int:
    """COPY follows from ready-made text lines (follower, followee, created_at), yielded in
    chunks of (rows, text), sorted by follower then followee. Returns the rows written.

    Sorted so, the primary key, the unique pair and the follower indexes grow at their right
    edge; the followee-first indexes would take every row at a random place, which costs more
    than the rest of the load once they outgrow shared buffers. So a big load (INDEX_REBUILD_MIN_ROWS
    and at least as many rows as the table holds) drops those indexes and builds them again
    afterwards, in the same transaction: a failure rolls back to the indexes as they were. That
    holds an exclusive lock on follows_follow for the whole load (the site's follow reads wait);
    the foreign keys are checked row by row as always (immediately, so the index can be built).
    """
    written = 0
    table = "follows_follow"
    with transaction.atomic(), connection.cursor() as cursor:
        _load_settings(cursor)
        cursor.execute("SELECT reltuples FROM pg_class WHERE oid = %s::regclass", [table])
        (present,) = cursor.fetchone()
        rebuild: list[tuple[str, str]] = []
        if rows >= INDEX_REBUILD_MIN_ROWS and rows >= present:
            rebuild = _random_order_indexes(cursor, table, "followee_id")
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no pending checks before CREATE INDEX
            cursor.execute("SET LOCAL maintenance_work_mem = '1GB'")
            for name, _definition in rebuild:
                cursor.execute(f'DROP INDEX "{name}"')
        with cursor.cursor.copy(f"COPY {table} (follower_id, followee_id, created_at) FROM STDIN") as copy:
            for count, chunk in lines:
                copy.write(chunk)
                written += count
                meter.advance(count)
        for _name, definition in rebuild:
            cursor.execute(definition)
    return written


@dataclass
class _TweetRow:
    id: int
    author_id: int
    text: str
    created_at: datetime


def parsed(text: str) -> tuple[list[str], list[str]]:
    """(tags, mentions) exactly as tweets.parsing.hashtags() and mentions() give them, from one
    pass of its tokenizer (the same tokens both functions read). Text without '#' or '@' holds
    neither, so it skips the tokenizer, the slow part of a million-tweet load."""
    if "#" not in text and "@" not in text:
        return [], []
    tags: dict[str, None] = {}
    names: dict[str, None] = {}
    for token in tokens(text):
        if token.kind == "tag":
            tags[token.value] = None
        elif token.kind == "mention":
            names[token.value] = None
    return list(tags), list(names)


def _copy_tweets(rows: Iterable[_TweetRow], meter: _Meter) -> int:
    written = 0
    with transaction.atomic(), connection.cursor() as cursor:
        _load_settings(cursor)
        # `search` is a generated column: Postgres fills it.
        sql = "COPY tweets_tweet (id, author_id, text, tags, mentions, created_at, pinned) FROM STDIN"
        with cursor.cursor.copy(sql) as copy:
            copy.set_types(["int8", "int8", "text", "varchar[]", "varchar[]", "timestamptz", "bool"])
            for row in rows:
                tags, mentions = parsed(row.text)
                copy.write_row((row.id, row.author_id, row.text, tags, mentions, row.created_at, False))
                written += 1
                meter.advance()
    return written


def _insert_stats(user_ids: Sequence[int]) -> None:
    """Exact counters for these (new) users in one statement, celebrities straight in pull mode.

    The ids go through an analysed temporary table: from an unnest() the planner would guess ten
    rows and probe the follows index 100K times instead of hashing one scan."""
    with transaction.atomic(), connection.cursor() as cursor:
        _load_settings(cursor)
        cursor.execute(
            "CREATE TEMPORARY TABLE seed_ids ON COMMIT DROP AS SELECT unnest(%s::bigint[]) AS id", [list(user_ids)]
        )
        cursor.execute("ANALYZE seed_ids")
        cursor.execute(
            """
            WITH followers AS (
                SELECT f.followee_id AS id, count(*) AS n FROM follows_follow f JOIN seed_ids s ON f.followee_id = s.id
                GROUP BY 1
            ), following AS (
                SELECT f.follower_id AS id, count(*) AS n FROM follows_follow f JOIN seed_ids s ON f.follower_id = s.id
                GROUP BY 1
            ), posted AS (
                SELECT t.author_id AS id, count(*) AS n FROM tweets_tweet t JOIN seed_ids s ON t.author_id = s.id
                GROUP BY 1
            )
            INSERT INTO accounts_userstats AS s (user_id, followers, following, tweets, fanout_mode)
            SELECT seed_ids.id, coalesce(followers.n, 0), coalesce(following.n, 0), coalesce(posted.n, 0),
                   CASE WHEN coalesce(followers.n, 0) > %(threshold)s THEN %(pull)s ELSE %(push)s END
            FROM seed_ids
            LEFT JOIN followers USING (id) LEFT JOIN following USING (id) LEFT JOIN posted USING (id)
            ON CONFLICT (user_id) DO UPDATE SET followers = EXCLUDED.followers, following = EXCLUDED.following,
                tweets = EXCLUDED.tweets, fanout_mode = EXCLUDED.fanout_mode
            """,
            {"threshold": settings.CELEBRITY_THRESHOLD, "pull": FanoutMode.PULL.value, "push": FanoutMode.PUSH.value},
        )
        cursor.execute("DROP TABLE seed_ids")  # now, not at commit: the caller's transaction may go on


def _tidy(*tables: str) -> None:
    """Fresh planner statistics for bulk-loaded tables, so the next phases (and the site) get
    sensible plans at once. Outside a transaction also VACUUM: it sets the visibility map that
    index-only scans need, now rather than when autovacuum would wake up in the middle of a
    later phase or benchmark."""
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"{'ANALYZE' if connection.in_atomic_block else 'VACUUM (ANALYZE)'} {table}")


def _build_derived(active_ids: list[int], say: Progress) -> int:
    """Home feeds of the active users and the trend counts of the last 24 hours (Redis)."""
    meter = _Meter("feeds", len(active_ids), say, "feeds")
    # One call, no progress inside it: feeds_bulk_build reads each author's newest tweets once per
    # call, and calling it in parts for the sake of a progress bar cost a third more time.
    meter.start()
    written = feeds_bulk_build(user_ids=active_ids)
    counted = trends.recount()
    meter.finish(f"(+ trends from {counted:,} tweets of the last 24 h)")
    return written


def _moment(us: int) -> datetime:
    """The instant `us` microseconds after the id epoch (exact: no float on the way)."""
    return EPOCH + timedelta(microseconds=us)


def _now_us() -> int:
    return (timezone.now() - EPOCH) // timedelta(microseconds=1)


def _existing_ids(low_us: int, high_us: int) -> set[int]:
    """Ids of tweets already in the database inside the window: ours must not take them."""
    low, high = id_for_time(_moment(low_us)), id_for_time(_moment(high_us), _SEQUENCES - 1)
    with connection.cursor() as cursor:
        cursor.execute("SELECT id FROM tweets_tweet WHERE id BETWEEN %s AND %s", [low, high])
        return {row[0] for row in cursor.fetchall()}


def _tweet_rows(plan: Iterable[tuple[int, int, str]], *, existing: set[int]) -> Iterator[_TweetRow]:
    """Rows from (time in us since the id epoch, author id, text), sorted by time.

    Times land strictly inside their millisecond (never on its first microsecond) so that
    id_for_time's float arithmetic cannot round down into the previous millisecond; within a
    millisecond the sequence follows time, so id order IS created_at order."""
    last_ms, sequence = -1, 0
    for us, author_id, text in plan:
        ms = us // 1000
        sequence = sequence + 1 if ms == last_ms else 0
        last_ms = ms
        moment = _moment(us)
        while sequence < _SEQUENCES and (tweet_id := id_for_time(moment, sequence)) in existing:
            sequence += 1
        if sequence >= _SEQUENCES:
            raise SeedError(f"more than {_SEQUENCES} tweets in one millisecond: spread them over more days")
        yield _TweetRow(id=tweet_id, author_id=author_id, text=text, created_at=moment)


def _inside_ms(us: int, rng: random.Random) -> int:
    """`us` moved to a random microsecond 1..999 of its millisecond (see _tweet_rows)."""
    return us - us % 1000 + rng.randint(1, 999)


# --- Vocabulary ----------------------------------------------------------------------------------

FIRST_NAMES = (
    "Ada", "Alan", "Alice", "Amara", "Ana", "Anika", "Ben", "Bilal", "Bruno", "Carla", "Chen", "Chloe", "Dana",
    "Daniel", "David", "Diego", "Elena", "Emil", "Emma", "Ethan", "Farah", "Felix", "Grace", "Hana", "Hugo",
    "Ines", "Isaac", "Ivan", "Jade", "Jamal", "Jana", "Jonas", "Julia", "Kai", "Karim", "Kenji", "Lara", "Leo",
    "Lina", "Lucas", "Maya", "Mei", "Mila", "Nadia", "Noah", "Nora", "Omar", "Oscar", "Paula", "Priya", "Rafael",
    "Rosa", "Ruth", "Sam", "Sara", "Sofia", "Tariq", "Theo", "Tomas", "Uma", "Vera", "Wei", "Yara", "Yusuf", "Zoe",
)  # fmt: skip
LAST_NAMES = (
    "Adams", "Alvarez", "Andersen", "Bauer", "Becker", "Brown", "Campbell", "Chen", "Costa", "Da Silva", "Dubois",
    "Eriksson", "Fischer", "Garcia", "Gonzalez", "Haddad", "Hansen", "Hoffmann", "Ivanova", "Jansen", "Kim",
    "Kowalski", "Kumar", "Larsen", "Lee", "Lopez", "Martin", "Meyer", "Moreau", "Nakamura", "Nguyen", "Novak",
    "Okafor", "Olsen", "Park", "Patel", "Petrov", "Rossi", "Santos", "Schmidt", "Silva", "Singh", "Smith", "Suzuki",
    "Tanaka", "Taylor", "Torres", "Wagner", "Walker", "Wang", "Weber", "Williams", "Wilson", "Yamamoto", "Zhang",
)  # fmt: skip
BIOS = (
    "", "", "", "Coffee first.", "Building things on the web.", "Runner, reader, occasional baker.",
    "Opinions are my own.", "Dog person.", "Cat person.", "Learning something new every day.", "Product designer.",
    "Backend engineer.", "Student.", "Photographer on weekends.", "Here for the memes.", "Data nerd.",
    "Trying to grow tomatoes.", "Teacher.", "Cyclist.", "Music, films, long walks.", "Parent of two.",
    "Always travelling.", "Open source contributor.", "Writing a novel, slowly.",
)  # fmt: skip
# Hashtag words; their order is shuffled per seed, then popularity falls off as a Zipf law.
TAG_WORDS = (
    "python", "django", "javascript", "rust", "golang", "webdev", "devops", "opensource", "ai", "ml", "data",
    "design", "ux", "css", "linux", "coffee", "tea", "breakfast", "foodie", "baking", "sourdough", "vegan", "pizza",
    "ramen", "running", "cycling", "hiking", "yoga", "fitness", "climbing", "swimming", "football", "basketball",
    "tennis", "f1", "chess", "music", "jazz", "vinyl", "concerts", "playlist", "podcast", "books", "reading",
    "bookclub", "poetry", "writing", "photography", "filmphotography", "sunset", "nature", "travel", "roadtrip",
    "beach", "mountains", "gardening", "plants", "houseplants", "climate", "science", "space", "astronomy",
    "physics", "math", "gaming", "indiegames", "boardgames", "movies", "tv", "anime", "art", "drawing", "crafts",
    "diy", "cats", "dogs", "pets", "birds", "monday", "friday", "weekend", "tgif", "motivation", "startup",
    "productivity", "remotework", "wfh", "career", "hiring", "marketing", "news", "economy", "health", "sleep",
    "meditation", "parenting", "education", "teachers", "history", "café", "münchen", "zürich", "東京", "résumé",
)  # fmt: skip
# The long tail: word + suffix (#pythontips, #coffeelovers, ...).
TAG_SUFFIXES = ("tips", "life", "lovers", "day", "time", "community", "conf", "news", "goals", "vibes", "club", "fail")
SUBJECTS = (
    "the new release", "my morning coffee", "this week's sprint", "the train home", "our team offsite",
    "the weekend hike", "today's standup", "the last episode", "my sourdough starter", "the match tonight",
    "this book", "the new café downtown", "that conference talk", "my side project", "the rain",
    "the city marathon", "the product launch", "this playlist", "the garden", "our cat", "the deploy",
    "the code review", "the sunset", "my new keyboard", "the museum visit", "dinner with friends",
    "the bike ride", "my to-do list", "the quarterly report", "the kids' school play",
)  # fmt: skip
PREDICATES = (
    "was better than expected", "took way longer than planned", "made my day", "is all I can think about",
    "deserves more attention", "just keeps getting better", "broke in the most creative way",
    "needs a second try", "surprised everyone", "was worth the wait", "is quietly brilliant",
    "could use some love", "went sideways, as usual", "finally worked", "was a lot of fun",
    "is overrated, fight me", "taught me something", "was exactly what I needed", "is on fire today",
    "did not go as planned",
)  # fmt: skip
OPENERS = ("", "", "", "", "Honestly, ", "Okay, ", "Hot take: ", "Small win: ", "Update: ", "Not gonna lie, ")
ENDINGS = (".", ".", "!", "!", " 🙌", "...", " - who else?", "?!", " 😅", " ☕")


def _tag_vocabulary(rng: random.Random, size: int = 2000) -> list[str]:
    """Tags in popularity order: real words first, then a long tail of compounds."""
    head = list(dict.fromkeys(TAG_WORDS))
    rng.shuffle(head)
    tail = [word + suffix for word in TAG_WORDS for suffix in TAG_SUFFIXES if word.isascii()]
    rng.shuffle(tail)
    return head + tail[: max(0, size - len(head))]


class _TextMaker:
    """Plausible tweet texts: a sentence, hashtags from a Zipf-like vocabulary (plus a few tags that
    are hot on a given day, so trends move), sometimes an @mention."""

    def __init__(self, rng: random.Random, mentionable: Callable[[], str]) -> None:
        self.rng = rng
        self.tags = _tag_vocabulary(rng)
        self.tag_cum = list(accumulate(1 / (rank + 2) ** 1.05 for rank in range(len(self.tags))))
        self.mentionable = mentionable
        self.hot: dict[int, list[str]] = {}

    def _tag(self, day: int) -> str:
        rng = self.rng
        if rng.random() < 0.15:
            hot = self.hot.get(day)
            if hot is None:
                hot = self.hot[day] = [self.tags[rng.randrange(20, min(400, len(self.tags)))] for _ in range(3)]
            tag = rng.choice(hot)
        else:
            tag = self.tags[bisect.bisect(self.tag_cum, rng.random() * self.tag_cum[-1])]
        # Written as people write them; stored lower-cased by the parser.
        return tag.capitalize() if rng.random() < 0.15 else tag

    def text(self, day: int) -> str:
        rng = self.rng
        opener = rng.choice(OPENERS)
        subject = rng.choice(SUBJECTS)
        sentence = f"{opener}{subject if opener else subject[0].upper() + subject[1:]} {rng.choice(PREDICATES)}"
        sentence += rng.choice(ENDINGS)
        roll = rng.random()
        count = 0 if roll < 0.3 else 1 if roll < 0.75 else 2 if roll < 0.93 else 3
        tags = list(dict.fromkeys(self._tag(day) for _ in range(count)))
        if tags:
            sentence += " " + " ".join(f"#{tag}" for tag in tags)
        roll = rng.random()
        if roll < 0.07:
            sentence = f"@{self.mentionable()} {sentence}"
        elif roll < 0.12:
            sentence += f" cc @{self.mentionable()}"
        return sentence


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
    - Usernames are username_prefix + 1..users; if any is taken, prefix + a letter (b, c, ...)
      is used instead (SeedReport.username_prefix says which). SeedError if none fits.
    - build_feeds: feeds for the active users (timelines.services.feeds_bulk_build) and trend
      counts (tweets.trends.recount); both Redis-only.

    Deterministic for a given random_seed (and clock). Every account's password is SEED_PASSWORD.
    """
    if users < 0 or tweets < 0 or avg_follows < 0 or days < 1 or not 0 <= inactive_share <= 1:
        raise SeedError("sizes must be positive, days at least 1, inactive_share between 0 and 1")
    if users and avg_follows > users - 1:
        raise SeedError(f"{users} users can follow at most {users - 1} others each (asked: {avg_follows})")
    if tweets and not users:
        raise SeedError("tweets need users")
    say = progress or _quiet
    rng = random.Random(random_seed)  # noqa: S311 - synthetic data, reproducible on purpose
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    now_us = _now_us()
    active_days = settings.ACTIVE_DAYS

    # Users ----------------------------------------------------------------------------------
    meter = _Meter("users", users, say, "users")
    prefix = _fresh_prefix(username_prefix, users) if users else username_prefix
    if prefix != username_prefix:
        say(f"note: {username_prefix}1.. are taken, so the usernames are {prefix}1..{prefix}{users}")
    inactive = set(rng.sample(range(users), round(users * inactive_share)))
    last_active: list[int | None] = []
    joined: list[int] = []
    for index in range(users):
        if index in inactive:
            seen = (
                None
                if rng.random() < 0.2
                else now_us - (active_days * _DAY_US + _HOUR_US) - rng.randrange(60 * _DAY_US)
            )
        else:
            # Most active users were here today; the window's far end stays an hour away.
            seen = now_us - 60 * _US - int((active_days * _DAY_US - _HOUR_US) * rng.random() ** 3)
        start = max(days * _DAY_US, now_us - seen if seen is not None else 0) + _DAY_US
        joined.append(now_us - start - rng.randrange(730 * _DAY_US))
        last_active.append(seen)
    window_start = now_us - days * _DAY_US
    # Who can have tweeted in the window: seen after it began (an hour of slack for the clamp).
    posting = [index for index in range(users) if (last_active[index] or 0) > window_start + _HOUR_US]
    if tweets and not posting:
        raise SeedError("no user was active within the tweet window: lower inactive_share or raise days")
    password = make_password(SEED_PASSWORD)
    ids = _reserve_user_ids(users)

    def user_rows() -> Iterator[_UserRow]:
        for index, user_id in enumerate(ids):
            username = f"{prefix}{index + 1}"
            seen = last_active[index]
            yield _UserRow(
                id=user_id,
                username=username,
                name=f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}",
                email=f"{username.lower()}@{SEED_EMAIL_DOMAIN}",
                bio=rng.choice(BIOS),
                date_joined=_moment(joined[index]),
                last_active=None if seen is None else _moment(seen),
                verified_at=_moment(joined[index] + rng.randrange(1, 3600) * _US),
                password=password,
            )

    _copy_users(user_rows(), meter)
    _tidy("accounts_user")
    seconds["users"] = meter.finish()

    # Follows --------------------------------------------------------------------------------
    total_follows = users * avg_follows
    meter = _Meter("follows", total_follows, say, "follows")
    population = range(users)
    rank = list(population)
    rng.shuffle(rank)
    popularity = [1.0 / (rank[index] + 3) for index in population]
    follow_cum = list(accumulate(popularity))
    degrees = _degrees(rng, users, total_follows)
    hours = (now_us - min(joined, default=now_us)) // _HOUR_US + 1
    first_hour = now_us - hours * _HOUR_US
    stamps = [_moment(first_hour + hour * _HOUR_US).isoformat() for hour in range(hours)]

    def follow_chunks() -> Iterator[tuple[int, str]]:
        lines: list[str] = []
        for index in population:
            degree = degrees[index]
            if not degree:
                continue
            follower = ids[index]
            low = (joined[index] - first_hour) // _HOUR_US
            seen = last_active[index]
            high = max(low, ((seen if seen is not None else joined[index] + _DAY_US) - first_hour) // _HOUR_US)
            high = min(high, hours - 1)
            for followee in _followees(rng, index, degree, population, follow_cum):
                lines.append(f"{follower}\t{ids[followee]}\t{stamps[rng.randint(low, high)]}\n")
            if len(lines) >= 20_000:
                yield len(lines), "".join(lines)
                lines = []
        if lines:
            yield len(lines), "".join(lines)

    follows = _copy_follows(follow_chunks(), meter, rows=total_follows)
    _tidy("follows_follow")
    seconds["follows"] = meter.finish()

    # Tweets ---------------------------------------------------------------------------------
    meter = _Meter("tweets", tweets, say, "tweets")
    activity = [rng.paretovariate(1.3) * (5 if rank[index] < max(1, users // 100) else 1) for index in posting]
    author_cum = list(accumulate(activity))

    def mention_pick() -> str:
        # Popular accounts are mentioned more, as they are followed more.
        return f"{prefix}{bisect.bisect(follow_cum, rng.random() * follow_cum[-1]) + 1}"

    maker = _TextMaker(rng, mention_pick)
    plan: list[tuple[int, int]] = []
    span = days * _DAY_US - _US  # the newest tweet is at least a second old
    for index in rng.choices(posting, cum_weights=author_cum, k=tweets):
        moment = now_us - _US - int(span * rng.random() ** 1.25)  # denser towards now
        seen = last_active[index]
        assert seen is not None
        if moment > seen:  # not after their last visit: redraw, densest just before it
            moment = seen - int((seen - window_start) * rng.random() ** 1.25)
        plan.append((_inside_ms(moment, rng), index))
    plan.sort()
    existing = _existing_ids(window_start - _US, now_us) if plan else set()

    def tweet_plan() -> Iterator[tuple[int, int, str]]:
        for moment, index in plan:
            yield moment, ids[index], maker.text((moment + EPOCH_US) // _DAY_US)

    written = _copy_tweets(_tweet_rows(tweet_plan(), existing=existing), meter)
    _tidy("tweets_tweet")
    seconds["tweets"] = meter.finish()

    # Counters -------------------------------------------------------------------------------
    meter = _Meter("stats", users, say, "users")
    _insert_stats(ids)
    meter.advance(users)
    seconds["stats"] = meter.finish()

    # Feeds ------------------------------------------------------------------------------------
    cutoff = _now_us() - active_days * _DAY_US
    active_ids = [ids[index] for index in population if (last_active[index] or 0) >= cutoff]
    feeds = 0
    started_feeds = time.perf_counter()
    if build_feeds:
        feeds = _build_derived(active_ids, say)
    seconds["feeds"] = time.perf_counter() - started_feeds
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


# --- The demo site -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Persona:
    username: str
    name: str
    bio: str
    topics: tuple[str, ...]
    fame: float = 1.0  # how much others follow them


PERSONAS = (
    Persona("maya_codes", "Maya Chen", "Backend engineer. Python, Postgres and far too much coffee.",
            ("dev", "coffee"), 5),
    Persona("tomas_rides", "Tomás Alvarez", "Bike commuter, weekend climber, spreadsheet enthusiast.",
            ("cycling", "running")),
    Persona("priya_bakes", "Priya Raman", "Pastry chef by training, sourdough evangelist by choice.", ("cooking",), 5),
    Persona("jonas_reads", "Jonas Berg", "Librarian. Currently reading three books at once, as usual.", ("books",)),
    Persona("amara_sky", "Dr Amara Okafor", "Astrophysicist. I explain the universe, one tweet at a time.",
            ("science",), 8),
    Persona("leo_frames", "Leo Rossi", "Street photographer. 35mm, mostly black and white.", ("photo", "travel"), 2),
    Persona("sofia_plants", "Sofía Torres", "Balcony gardener. 43 houseplants and counting.", ("garden",)),
    Persona("kenji_plays", "Kenji Nakamura", "Indie game dev. Pixel art, chiptunes, too many prototypes.",
            ("games", "dev")),
    Persona("nora_runs", "Nora Lindqvist", "Marathoner (slowly). Physio. Stretch your calves.", ("running",)),
    Persona("omar_design", "Omar Haddad", "Product designer. Fonts are my love language.", ("design",), 2),
    Persona("grace_notes", "Grace Kim", "Jazz pianist and part-time music teacher.", ("music",)),
    Persona("felix_travels", "Felix Wagner", "Slow travel, night trains and street food.", ("travel", "cooking"), 3),
    Persona("hana_pets", "Hana Suzuki", "Two cats, one dog, zero regrets.", ("pets",), 3),
    Persona("diego_goal", "Diego Santos", "Football, every league, every weekend.", ("football",), 4),
    Persona("elena_films", "Elena Petrova", "Film critic. Subtitles are not a barrier.", ("film", "books"), 2),
    Persona("sam_ships", "Sam Taylor", "Startup founder. Building in public, mistakes included.", ("work", "dev"), 2),
    Persona("ines_cooks", "Inês Costa", "Home cook in Lisbon. Everything tastes better with olive oil.", ("cooking",)),
    Persona("ben_builds", "Ben Walker", "Woodworking, allotment and the odd power-tool disaster.", ("garden",)),
    Persona("zoe_writes", "Zoe Martin", "Journalist. Tech, climate and the people in between.",
            ("science", "work"), 3),
    Persona("ivan_chess", "Ivan Novak", "Chess, coffee, and more chess.", ("games", "coffee")),
    Persona("lara_codes", "Lara Schmidt", "Frontend dev. CSS is a programming language, fight me.", ("dev", "design")),
    Persona("kai_sails", "Kai Hansen", "Marine biologist. Sail, surf, repeat.", ("science", "travel")),
    Persona("rosa_reads", "Rosa Garcia", "Book club host. Mysteries and big Russian novels.", ("books",)),
    Persona("yusuf_eats", "Yusuf Demir", "Food writer. I will drive an hour for good bread.",
            ("cooking", "coffee"), 2),
    Persona("chloe_draws", "Chloé Dubois", "Illustrator. Sketchbook always in my bag.", ("design", "photo")),
    Persona("mateo_music", "Mateo Silva", "Guitarist in a band you have not heard of (yet).", ("music",)),
    Persona("anika_ml", "Anika Patel", "Machine learning engineer. Data is never clean.", ("dev", "science")),
    Persona("ruth_teaches", "Ruth Adams", "Maths teacher. Yes, you will need this later.", ("science", "books")),
    Persona("wei_trails", "Wei Zhang", "Trail runner. Mountains over pavement.", ("running", "travel")),
    Persona("carla_cafe", "Carla Moreau", "Barista and latte-art competitor.", ("coffee",), 2),
    Persona("noah_pixels", "Noah Jansen", "Game artist. Collector of retro consoles.", ("games", "design")),
    Persona("mei_garden", "Mei Tanaka", "Allotment life. Tomatoes, beans, and many slugs.", ("garden", "cooking")),
    Persona("bilal_cycles", "Bilal Khan", "Bike mechanic. If it squeaks, bring it in.", ("cycling",)),
    Persona("ada_ops", "Ada Eriksson", "SRE. I keep the pagers quiet.", ("dev", "work")),
    Persona("hugo_films", "Hugo Fischer", "Projectionist at a tiny cinema.", ("film",)),
    Persona("jade_paws", "Jade Wilson", "Dog trainer. Good dogs only (all of them).", ("pets",)),
    Persona("theo_kicks", "Théo Bernard", "Sunday league striker, weekday data analyst.", ("football", "work")),
    Persona("uma_stars", "Uma Singh", "Amateur astronomer. Clear skies, please.", ("science", "photo")),
    Persona("vera_ux", "Vera Ivanova", "UX researcher. I ask 'why' for a living.", ("design", "work")),
    Persona("oscar_brews", "Oscar Larsen", "Home brewer. Coffee in the morning, something hoppier at night.",
            ("coffee", "cooking")),
)  # fmt: skip

# What people write about; "{mention}" becomes the @username of someone the author follows.
TOPIC_TWEETS: dict[str, tuple[str, ...]] = {
    "dev": (
        "Spent the morning deleting code. Best kind of productive. #python",
        "Upgraded our project to the latest Django and the test suite passed first time. Suspicious. #django #python",
        "The bug is always in the last place you look, because then you stop looking. #debugging",
        "Pair programming with {mention} today and we fixed a bug that haunted us for a week 🎉 #teamwork",
        "EXPLAIN ANALYZE is the best teacher I ever had. #postgres",
        "Wrote the test first for once. It caught the bug before I wrote the bug. #tdd",
        "Spent 20 minutes naming a variable and it's still called data2. #programming",
        "Deployed on a Friday and nothing broke. Framing this graph. #devops",
        "Code review tip: ask questions, don't give orders. Works on people too. #codereview",
        "Redis is doing the heavy lifting on our feeds and I'm here for it. #redis #webdev",
    ),
    "design": (
        "Kerning is just spacing with feelings. #typography",
        "Spent the afternoon removing features from a mockup. It got better with every delete. #design",
        "Hot take: dark mode is a colour palette, not a personality. #ux",
        "User testing today. Five people, five completely different ways to find the settings page. #uxresearch",
        "New sketchbook, who dis ✏️ #illustration",
        "If your button needs a tooltip, it needs a better label. #ux #design",
        "Big thanks to {mention} for the feedback on the new icons. Round two coming up. #design",
        "Grids are freedom, not a prison. #typography #Design",
        "The contrast checker saved me again. Accessibility isn't optional. #a11y",
        "Moodboard for the new project is 80% photos of concrete. Very on brand. #design",
    ),
    "coffee": (
        "First coffee of the day hits different when it's raining outside ☕ #coffee",
        "Dialled in the new beans: 18g in, 36g out, 28 seconds. #espresso #coffee",
        "Found a tiny café that roasts its own beans and plays vinyl. I live here now. #café",
        "Latte art practice, day 47: it's a tulip if you squint. #latteart",
        "Pour-over on a Sunday morning is a meditation. #coffee",
        "{mention} you were right about that Ethiopian roast. Blueberries. Actual blueberries. #coffee",
        "Decaf after 3pm. I am an adult now. #coffee",
        "The grinder is louder than my alarm clock and twice as effective. #Coffee",
        "Cold brew season has officially started ☀️ #coldbrew",
        "Ranking the office coffee machines, a thread nobody asked for. #coffee #wfh",
    ),
    "running": (
        "Easy 10k this morning, legs finally feel fresh again. #running",
        "Marathon training week 9: long run done, appetite unlocked. #marathon #running",
        "Rain, wind, 6am. Still went. Still glad. #running",
        "New personal best on the 5k! 21:48 🎉 #running",
        "Trail run with {mention} today. We got lost twice and it was perfect. #trailrunning",
        "Stretch your calves. That's it, that's the tweet. #running",
        "Parkrun is the best thing that ever happened to Saturday mornings. #parkrun",
        "Intervals today. I hate them while I do them and love them for the rest of the week. #running",
        "Bought new shoes and suddenly I'm a runner again. #Running",
        "Race day tomorrow. Bib pinned, shoes ready, nerves on. #marathon",
    ),
    "cycling": (
        "Commuted by bike all week. Fitter, happier, slightly damper. #cycling #bikecommute",
        "70km loop along the river today, with a headwind both ways somehow. #cycling",
        "Fixed my own puncture on the roadside for the first time. Proud. #cycling",
        "Painted lines are not infrastructure. Protected lanes are. #bikelanes",
        "Cleaned and oiled the chain. The bike is silent. I am at peace. #cycling",
        "{mention} thanks for adjusting the gears, shifting like butter now. #cycling",
        "The coffee stop halfway is the only reason I cycle. #cycling #coffee",
        "Gravel ride in the hills today, dusty and glorious. #gravel",
        "Cargo bike school run: two kids and a week of groceries. #cycling",
        "First warm morning ride of the year 🚲 #cycling",
    ),
    "cooking": (
        "Sourdough loaf number 12: finally got that open crumb 🍞 #sourdough #baking",
        "Made fresh pasta for the first time. Flour everywhere. Worth it. #cooking",
        "Sunday soup: leeks, potatoes and far too much butter. #cooking",
        "Tried {mention}'s dal recipe tonight and now I need to make it every week. #vegan #cooking",
        "Market haul: tomatoes that actually taste like tomatoes. #food",
        "My starter is three years old and more reliable than me. #sourdough",
        "Pastry tip: cold butter, cold hands, cold heart. #baking",
        "Custard tarts at home. Burnt tops are a feature. #baking #food",
        "Spent four hours on a ramen broth. Ate it in six minutes. #ramen #cooking",
        "The best kitchen tool is a sharp knife and an hour with nothing else to do. #cooking",
    ),
    "books": (
        "Finished a 900-page novel and now I don't know what to do with my evenings. #books #reading",
        "Next month's book club pick is a mystery set on a night train. Perfect. #bookclub",
        "Reading three books at once is fine as long as they're very different. Right? #reading",
        "Library haul! Due back in three weeks, realistically six. #books",
        "Re-reading a childhood favourite and it still holds up. #books",
        "{mention} what did you think of the ending? I have questions. #bookclub",
        "Poetry on the train beats doom-scrolling every time. #poetry #reading",
        "Quiet Sunday: rain outside, good book, cold tea. #reading",
        "Just added 11 books to my to-read list. I will not read them this year. #books",
        "Second-hand find: a first edition with someone's notes in the margins. #books",
    ),
    "science": (
        "Tonight Jupiter is bright and low in the east after sunset. Go outside and look up! #astronomy",
        "The sky is blue because air scatters short wavelengths more. Sunsets are red for the same reason. #science",
        "New data from the telescope came in overnight and I haven't slept. Worth it. #space #science",
        "Sea temperatures this spring are off the charts. Literally: we had to rescale the chart. #climate",
        "Explaining black holes to a class of ten-year-olds is the hardest and best part of my job. #science",
        "Clear skies at last: three hours imaging the Andromeda galaxy 🌌 #astrophotography",
        "Peer review is in. Three reviewers, four opinions. #science",
        "{mention} great thread on tides, sharing it with my students. #science",
        "Meteor shower peaks this weekend. Dark skies, warm blanket, patience. #astronomy",
        "Puzzle of the day: why does 0.999... equal 1? Answers below. #math",
    ),
    "photo": (
        "Golden hour in the old town, every corner a photograph. #photography",
        "Shot a whole roll of film today and won't see it for a week. That's the fun. #filmphotography",
        "Black and white makes rainy streets look like a movie. #streetphotography",
        "Sunset from the harbour tonight 🌅 #sunset #photography",
        "{mention} your night shots are inspiring, what lens was that? #photography",
        "Cleaned my camera sensor. The dust spot is still there. It lives there now. #photography",
        "Fog on the river this morning. Worth waking up for. #nature #photography",
        "Portrait session in the park, and the light was perfect. #portrait",
        "Every city looks better at blue hour. #photography #travel",
        "Printed my photos for the first time in years. Pixels are nice, paper is better. #photography",
    ),
    "travel": (
        "Night train to Vienna: tiny bunk, big windows, zero regrets. #travel #nighttrain",
        "Street food tour today: nine stops and one very full traveller. #travel #food",
        "Packing light is a skill. I do not have it. #travel",
        "Landed in Tokyo and went straight for a vending machine coffee. #東京 #travel",
        "Slow travel tip: stay a week in one place and you get to know the bakery staff. #slowtravel",
        "{mention} thanks for the café tip in Lisbon, it was perfect. #travel #café",
        "Mountain hut, no signal, best sleep in months. #hiking #travel",
        "The best souvenir is a visit to a local grocery store. #travel",
        "Missed my connection and found the loveliest little town by accident. #travel",
        "Ferry at sunrise, coffee in hand. The holidays have officially begun. #travel",
    ),
    "garden": (
        "First tomato of the season 🍅 I'm unreasonably proud. #gardening",
        "Repotted the monstera. It immediately sulked. #houseplants #plants",
        "Slugs ate my lettuce again. Tonight I'm going out with a torch. #gardening",
        "Seed packets sorted, spring plan drafted, soil not warm yet. Waiting is the hardest part. #gardening",
        "{mention} your balcony jungle is goals. How many plants now? #houseplants",
        "Compost is just slow magic. #gardening",
        "The propagation station on the windowsill is getting out of hand. #plants",
        "Beans climbing up everything, including the shed. #allotment",
        "Rain after a dry week and the garden smells incredible. #gardening",
        "The basil survived a whole month. New record. #plants #cooking",
    ),
    "games": (
        "Finished an indie game in one sitting and now I need to sit with my feelings. #indiegames",
        "Board game night: four friends, one game, three hours arguing about the rules. #boardgames",
        "Game jam weekend! 48 hours, one small game about a lighthouse keeper. #gamedev",
        "Dusted off the old console. Still can't beat that level. #retrogaming",
        "Chess puzzle of the day took me 20 minutes. The answer was a pawn move. It's always a pawn move. #chess",
        "{mention} rematch tonight? I've been practising. #chess",
        "Pixel art is 90% choosing the right 16 colours. #pixelart #gamedev",
        "Co-op games are a relationship test and we passed. Barely. #gaming",
        "Playtesting our prototype: players found a bug we're keeping as a feature. #gamedev",
        "Lost a rapid game because I was thinking about lunch. #chess",
    ),
    "music": (
        "Practised scales for an hour and my fingers have filed a complaint. #piano #music",
        "Playing tonight at the little bar on the corner. Come say hi! #livemusic",
        "New playlist: songs for rainy train rides. #music #playlist",
        "Found a record I'd been hunting for years at a flea market 🎶 #vinyl",
        "Jazz trio jam session. Nobody counted us in and it still worked. #jazz",
        "{mention} that chord progression you showed me is stuck in my head. #music",
        "Teaching a seven-year-old their first song on the piano is pure joy. #music",
        "Recording demos in the kitchen because it has the best reverb. #music",
        "Concert last night. My ears are ringing and I'm happy. #concerts",
        "Restrung the guitar and tuned it fourteen times. #guitar",
    ),
    "pets": (
        "The cat has claimed the new box. What came in it is irrelevant. #cats",
        "The dog learned to ring a bell when she wants to go out. Now she rings it every four minutes. #dogs",
        "Morning walk, muddy paws, happy dog. #dogs",
        "Cat schedule: sleep, judge me, sleep, demand breakfast at 5am. #cats #pets",
        "{mention} your training tips worked! He sits! Sometimes! #dogtraining",
        "Adopted a senior cat this week. She is perfect and very grumpy. #adoptdontshop #cats",
        "Puppy class graduation today 🎓🐶 #dogs",
        "The dog and the cat are finally friends. It took eight months. #pets",
        "The vet visit went fine. The cat will never forgive me. #cats",
        "Sunday afternoon: dog asleep on my feet, no plans. #dogs",
    ),
    "football": (
        "What a match! Last-minute winner and the whole pub went wild ⚽ #football",
        "Sunday league: lost 3-2, scored one, pulled a hamstring. Good day overall. #football",
        "The new manager's pressing is actually working. #football",
        "Transfer rumour season is my favourite fiction genre. #football #transfers",
        "{mention} are you watching the derby tonight? #football",
        "Away day with friends, singing all the way home. #football",
        "VAR took four minutes to decide an offside by a toenail. #var #football",
        "Sold-out stadium for the women's league tonight! #football #womensfootball",
        "My fantasy team is a disaster, as usual. #fantasyfootball",
        "Kids' training this morning. Their enthusiasm is unmatched. #football",
    ),
    "film": (
        "Rewatched a 70s classic in a tiny cinema with twelve strangers. Perfect evening. #film",
        "The best films keep you in your seat through the credits, just thinking. #movies",
        "Projected a 35mm print tonight. The sound of the projector is part of the film. #cinema",
        "Subtitles are great. That's the review. #film",
        "Festival week: 14 films in five days. Send coffee. #filmfestival",
        "{mention} we need to talk about that ending. #movies",
        "Documentary night: I'll never look at octopuses the same way again. #documentary",
        "Ranking every film I saw this year, part one. #film",
        "Horror movie marathon, lights on. #movies",
        "Best score of the year so far; I've had it on repeat all week. #filmmusic",
    ),
    "work": (
        "Remote work tip: a walk at lunch is the commute you actually need. #remotework",
        "Shipped the feature we've talked about for six months. Building in public pays off. #startup",
        "Meetings without an agenda should be emails. Emails without a point should be nothing. #productivity",
        "Interviewing this week. Be kind to the people on the other side of the table. #hiring",
        "Quarterly planning: 40 sticky notes, three priorities, one very tired team. #startup",
        "{mention} thanks for the mentoring chat today, exactly what I needed. #career",
        "Inbox zero for exactly eleven minutes. #productivity",
        "Four-day week trial, month one: more done, less tired. #futureofwork",
        "Quiet on-call week. Knock on wood. #sre #devops",
        "Wrote the postmortem: blameless and honest. We learned a lot. #sre",
    ),
}
REPLIES = (
    "{mention} this is so true 😄", "{mention} congrats!! 🎉", "{mention} saving this for later, thanks!",
    "{mention} 100% agree.", "{mention} haha, been there.", "{mention} this made my morning.",
    "{mention} wait, how did you do that?", "{mention} sending good vibes your way.", "{mention} love this!",
    "{mention} can't wait to see the next one.", "{mention} brilliant, thanks for sharing.",
    "{mention} you're on a roll this week!", "{mention} okay, now I want to try this too.",
    "{mention} that looks amazing 😍", "{mention} counting down the days!",
)  # fmt: skip
DEMO_REPLIES = 30
DEMO_BIO = "The shared demo account: look around, post, follow. Everything is reset nightly."
DEMO_DAYS = 21


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


def _demo_login_hint() -> str:
    if User.objects.filter(username__iexact=DEMO_USERNAME, is_staff=False, is_superuser=False).exists():
        return f" Demo login (unless changed): {DEMO_USERNAME} / {DEMO_PASSWORD}"
    return ""


def seed_demo(*, progress: Callable[[str], None] | None = None, random_seed: int = 7) -> DemoReport:
    """Fill an empty site with a small lived-in one: 40 people with real-sounding names and bios,
    follows among them, ~200 tweets over the last three weeks with hashtags and @mentions, and a
    shared demo account (DEMO_USERNAME / DEMO_PASSWORD) following most of them, so its home feed is
    full at once. Everyone is verified and was active recently; every active user gets a feed.

    Idempotent: does nothing (DemoReport.seeded False, with the reason) when DEMO_SEED is off or
    any account other than staff and superusers exists (so it never adds to a used site; after the
    nightly purge the next start seeds again). Two concurrent runs serialise on an advisory lock
    and the second finds the first's users. Usernames taken by staff are skipped (the demo account
    then becomes demo_user). The rows commit together; feeds and trends follow (a Redis failure
    there is reported, not raised: home pages fall back to SQL and rebuild their feeds).
    """
    say = progress or _quiet
    if not settings.DEMO_SEED:
        return DemoReport(seeded=False, message="Demo data not seeded: DEMO_SEED is off.")
    started = time.perf_counter()
    rng = random.Random(random_seed)  # noqa: S311 - synthetic data, reproducible on purpose
    now_us = _now_us()
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", list(DEMO_LOCK))
        existing = User.objects.filter(is_staff=False, is_superuser=False).count()
        if existing:
            return DemoReport(
                seeded=False,
                message=f"Demo data not seeded: the site already has {existing:,} accounts." + _demo_login_hint(),
            )
        free = _free_usernames([persona.username for persona in PERSONAS] + [DEMO_USERNAME, "demo_user"])
        people = [persona for persona in PERSONAS if persona.username in free]
        demo_name = next((name for name in (DEMO_USERNAME, "demo_user") if name in free), None)
        if demo_name is None:
            raise SeedError(f"the usernames {DEMO_USERNAME} and demo_user are both taken by staff accounts")
        ids = _reserve_user_ids(len(people) + 1)
        demo_id, person_ids = ids[-1], ids[:-1]
        by_id = dict(zip(person_ids, people, strict=True))
        username = {user_id: persona.username for user_id, persona in by_id.items()} | {demo_id: demo_name}

        # People: joined months ago, verified at once, seen in the last day and a half.
        seen = {user_id: now_us - rng.randrange(5 * 60 * _US, 36 * _HOUR_US) for user_id in person_ids}
        seen[demo_id] = now_us - 60 * _US
        joined = {user_id: now_us - rng.randrange(60 * _DAY_US, 900 * _DAY_US) for user_id in ids}
        unusable = make_password(None)  # the people are scenery: only the demo account logs in

        def rows() -> Iterator[_UserRow]:
            for user_id in ids:
                persona = by_id.get(user_id)
                yield _UserRow(
                    id=user_id,
                    username=username[user_id],
                    name=persona.name if persona else "Demo Visitor",
                    email=f"{username[user_id].lower()}@{DEMO_EMAIL_DOMAIN}",
                    bio=persona.bio if persona else DEMO_BIO,
                    date_joined=_moment(joined[user_id]),
                    last_active=_moment(seen[user_id]),
                    verified_at=_moment(joined[user_id] + rng.randrange(60, 3600) * _US),
                    password=make_password(DEMO_PASSWORD) if persona is None else unusable,
                )

        meter = _Meter("users", len(ids), say, "users")
        _copy_users(rows(), meter)
        meter.finish()

        # Follows: people follow 8-18 others, the famous and those who share a topic more often;
        # the demo account follows most of them, and a few follow it back.
        following: dict[int, list[int]] = {}
        for user_id, persona in by_id.items():
            others = [other for other in person_ids if other != user_id]
            weights = [by_id[o].fame * (3 if set(by_id[o].topics) & set(persona.topics) else 1) for o in others]
            following[user_id] = _weighted_sample(rng, others, weights, min(len(others), rng.randint(8, 18)))
        fame = [by_id[user_id].fame for user_id in person_ids]
        following[demo_id] = _weighted_sample(rng, person_ids, fame, min(len(person_ids), 28))
        for user_id in rng.sample(person_ids, min(len(person_ids), 6)):
            following[user_id].append(demo_id)
        pairs = sorted((follower, followee) for follower, followees in following.items() for followee in followees)
        stamp = {
            pair: _moment(rng.randint(max(joined[pair[0]], joined[pair[1]]), seen[pair[0]])).isoformat()
            for pair in pairs
        }
        lines = "".join(f"{follower}\t{followee}\t{stamp[(follower, followee)]}\n" for follower, followee in pairs)
        meter = _Meter("follows", len(pairs), say, "follows")
        _copy_follows(iter([(len(pairs), lines)]), meter, rows=len(pairs))
        meter.finish()

        # Tweets: every topic line once, by someone who writes about it, plus replies; spread over
        # the last three weeks, denser lately, each before its author's last visit.
        writers: dict[str, list[int]] = {}
        for user_id, persona in by_id.items():
            for topic in persona.topics:
                writers.setdefault(topic, []).append(user_id)
        drafts: list[tuple[int, str, str]] = []
        for topic, lines_of_topic in TOPIC_TWEETS.items():
            for line in lines_of_topic:
                if writers.get(topic):
                    drafts.append((rng.choice(writers[topic]), topic, line))
        for _reply in range(DEMO_REPLIES if person_ids else 0):
            drafts.append((rng.choice(person_ids), "", rng.choice(REPLIES)))
        plan: list[tuple[int, int, str]] = []
        for author, topic, line in drafts:
            # Mention someone they follow, preferably someone who writes about the same thing.
            peers = [other for other in following[author] if other in by_id and topic in by_id[other].topics]
            mentioned = rng.choice(peers or following[author] or [author])
            text = line.replace("{mention}", f"@{username[mentioned]}")
            moment = now_us - 3 * 60 * _US - int(DEMO_DAYS * _DAY_US * rng.random() ** 2)
            if moment > seen[author]:
                moment = seen[author] - int((seen[author] - (now_us - DEMO_DAYS * _DAY_US)) * rng.random() ** 2)
            plan.append((_inside_ms(moment, rng), author, text))
        welcome = now_us - 2 * _DAY_US
        plan.append((_inside_ms(welcome, rng), demo_id, "Hello TweetHub 👋 Trying out the demo account. #hello"))
        plan.sort()
        meter = _Meter("tweets", len(plan), say, "tweets")
        window = (plan[0][0] - _US, now_us) if plan else (now_us, now_us)
        tweets = _copy_tweets(_tweet_rows(plan, existing=_existing_ids(*window)), meter)
        meter.finish()
        _insert_stats(ids)

    feeds = 0
    note = ""
    try:
        feeds = _build_derived(ids, say)
    except redis.RedisError as error:
        note = f" Feeds not built ({error}): home pages are served from SQL and rebuild them."
    return DemoReport(
        seeded=True,
        message=f"Demo site seeded: {len(ids)} accounts, {len(pairs)} follows, {tweets} tweets.{note}",
        users=len(ids),
        follows=len(pairs),
        tweets=tweets,
        feeds=feeds,
        username=demo_name,
        password=DEMO_PASSWORD,
        seconds={"total": time.perf_counter() - started},
    )


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
