"""Capacity model (issue 20, point 6): `python -m bench.capacity RESULTS.json [MORE.json ...]` reads
`make bench` results and writes docs/capacity.md. Each per-unit cost comes from a named figure, taken
from the first file given that has it; the assumptions are the named constants below. Nothing here
measures: rerun it on a newer results file and the document follows.

Follower counts are computed analytically for the graph seed_data draws (adminpanel/seed/shape.py:
followees picked by popularity weight 1/(rank + 3), out-degrees gamma with shape 1.5), never by
sampling 100M accounts.
"""

from __future__ import annotations

import json
import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# --- Assumptions (named so a reviewer can argue with each one) ---------------------------------
SIZES = (1_000_000, 100_000_000)  # registered users modelled
ACTIVE_SHARE = 0.8  # seed_data's --inactive-share default is 0.2: 80% seen within ACTIVE_DAYS
AVG_FOLLOWS = 50  # mean follows per user, as `make bench` seeds (bench/core.py FULL; seed_data's default is 20)
OUT_DEGREE_SHAPE = 1.5  # gamma shape of out-degrees (shape.draw_out_degrees)
ZIPF_OFFSET = 3  # popularity weight 1 / (rank + ZIPF_OFFSET) (shape.draw_popularity)
TWEETS_PER_ACTIVE_USER_PER_DAY = 2.0  # authors taken uniformly among active users (seed skews to the popular)
FOLLOWS_PER_ACTIVE_USER_PER_DAY = 0.5  # new follow edges
HOME_VIEWS_PER_ACTIVE_USER_PER_DAY = 10.0  # logged-in GET / (each one full page render)
PEAK_TO_AVERAGE = 3.0  # the busiest hour's rate over the day's mean rate
# Settings mirrored here (tweethub/settings/feeds.py defaults) so the document does not depend on the
# environment it is generated in; tests/bench/test_capacity.py checks they still match.
TIMELINE_LENGTH = 80  # ids a feed keeps (plus TIMELINE_SLACK before a trim)
CELEBRITY_THRESHOLD = 10_000  # followers at which an author switches to pull mode (no push fan-out)
CARD_CACHE_SECONDS = 2 * 86_400  # how long a tweet's cached row stays in Redis (written on create)
# Postgres row writes, counted from the services (a row written then deleted counts twice):
ROWS_PER_TWEET = 4  # tweets_tweet insert, userstats counter update, outbox insert + relay delete
ROWS_PER_FOLLOW = 5  # follows_follow insert, 2 counter updates, outbox insert + relay delete
ROWS_PER_FOLLOW_TXN_IN_BENCH = 4  # the postgres bench's transaction: follow row, 2 counters, outbox row
WAL_BYTES_PER_ROW = 250  # record header + tuple + one or two index entries; full-page images not counted
# One box = this machine: 2 cores, 24 GiB (FACTS.md); CPU figures are in cores of it.
BOX_CORES = 2
REDIS_BOX_MEMORY_GIB = 16.0  # of the 24 GiB, leaving room for a fork's copy-on-write during a save
REDIS_CORE_BUDGET = 0.7  # Redis is single-threaded: plan one server per 0.7 of a core
CORE_BUDGET = 0.7  # web and worker boxes planned at 70% CPU at the peak
PG_BUDGET = 0.7  # the Postgres primary planned at 70% of the measured write rate
DAY = 86_400
DOC = Path("docs/capacity.md")


class MissingFigure(LookupError):  # a named figure is in none of the files: run its section
    pass


@dataclass(frozen=True)
class Source:  # the results file a figure came from
    file: str
    commit: str
    scale: str


@dataclass(frozen=True)
class Cost:
    """One per-unit cost: its value, and the figure and run it came from."""

    value: float
    unit: str
    figure: str
    source: Source


class Figures:
    """Named figures from one or more results files; the first file holding a name wins."""

    def __init__(self, runs: list[tuple[str, dict[str, Any]]]) -> None:
        self.runs = runs

    def find(self, section: str, test: Any) -> tuple[dict[str, Any], Source]:
        for name, results in self.runs:
            meta = results["meta"]
            for figure in results["figures"]:
                if figure["section"] == section and test(figure["name"]):
                    return figure, Source(name, meta.get("commit", "?"), meta.get("scale", "?"))
        raise MissingFigure(f"no {section} figure matching {test} in {[name for name, _ in self.runs]}")

    def cost(self, section: str, name: str, *, field: str = "value", scale: float = 1.0, unit: str = "") -> Cost:
        figure, source = self.find(section, lambda n: n == name)
        label = f"{section}: {name}" + ("" if field == "value" else f" ({field})")
        return Cost(float(figure[field]) * scale, unit or figure["unit"], label, source)


def harmonic(n: int) -> float:
    """H_n, exact below 10^5 terms, else the asymptotic series (error far below 1e-12)."""
    if n < 100_000:
        return math.fsum(1.0 / k for k in range(1, n + 1))
    return math.log(n) + 0.5772156649015329 + 1 / (2 * n) - 1 / (12 * n**2)


def popularity_total(users: int) -> float:
    """Sum of the weights 1 / (rank + ZIPF_OFFSET) over ranks 0..users-1."""
    return harmonic(users + ZIPF_OFFSET - 1) - harmonic(ZIPF_OFFSET - 1)


def expected_followers(rank: int, users: int, avg_follows: float = AVG_FOLLOWS) -> float:
    """Expected followers of popularity `rank`: a user with gamma out-degree D misses it with
    probability about (1 - p)^D, and E[(1 - p)^D] = (1 + t * theta)^-shape with t = -ln(1 - p).
    At 100K users x 50 follows: 66.3K for the top account; the bench's seed had 67,504."""
    p = (1.0 / (rank + ZIPF_OFFSET)) / popularity_total(users)
    theta = avg_follows / OUT_DEGREE_SHAPE
    miss: float = (1.0 - math.log1p(-p) * theta) ** -OUT_DEGREE_SHAPE
    return (users - 1) * (1.0 - miss)


def pull_mode(users: int, threshold: int = CELEBRITY_THRESHOLD) -> tuple[int, float]:
    """(accounts at or over the celebrity threshold, share of all follow edges that point at them):
    their tweets are pulled at read time, so those edges cost no push inserts."""
    edges = users * AVG_FOLLOWS
    count, covered = 0, 0.0
    while count < users and (followers := expected_followers(count, users)) >= threshold:
        count, covered = count + 1, covered + followers
    return count, min(1.0, covered / edges)


@dataclass(frozen=True)
class Costs:
    feed_bytes: Cost  # one feed at its largest
    tweet_row_bytes: Cost  # one cached tweet row (tc:)
    author_row_bytes: Cost  # one cached author row (uc:)
    active_user_bytes: Cost  # cross-check: feed + what one page read caches
    tweet_heap_bytes: Cost  # one tweets_tweet row in Postgres
    push_seconds_per_insert: Cost  # serial fan-out loop time per feed insert (worker + Redis)
    lua_seconds_per_insert: Cost  # the bare-Lua ZADD ceiling: Redis time per insert, floor
    fanout_followers: int  # the active followers of the fan-out the two above come from
    web_ms_per_home: Cost  # web worker CPU per logged-in home page
    redis_ms_per_home: Cost  # Redis CPU per home page
    pg_ms_per_home: Cost  # Postgres CPU per home page
    pg_rows_per_second: Cost  # one primary's measured write rate (rows)


def costs(figures: Figures) -> Costs:
    push, source = _largest_fanout(figures)
    name = push["name"]
    cpu, cpu_source = figures.find(
        "http", lambda n: n.endswith("server CPU per logged-in home page, all processes of the stack")
    )
    by_kind = cpu["extra"]["home"]

    def kind(label: str, *kinds: str) -> Cost:
        return Cost(sum(by_kind.get(k, 0.0) for k in kinds), "ms", f"http: {cpu['name']} ({label})", cpu_source)

    pg_label = f"postgres: {{name}} x {ROWS_PER_FOLLOW_TXN_IN_BENCH}"
    largest, _ = figures.find("memory", lambda n: n.startswith("Redis bytes per feed at its largest"))
    pg, pg_source = figures.find("postgres", lambda n: n.startswith("follows+unfollows of one account"))
    pg_label = pg_label.format(name=pg["name"])
    return Costs(
        feed_bytes=figures.cost("memory", largest["name"]),
        tweet_row_bytes=figures.cost("memory", "Redis bytes per cached tweet row (tc:*)"),
        author_row_bytes=figures.cost("memory", "Redis bytes per cached author row (uc:*)"),
        active_user_bytes=figures.cost("memory", "Redis bytes per active user: feed keys + growth from a page read"),
        tweet_heap_bytes=figures.cost("memory", "Redis bytes per cached tweet row (tc:*)", field="baseline"),
        push_seconds_per_insert=Cost(1 / push["value"], "s", f"fanout: {name} (1 / value)", source),
        lua_seconds_per_insert=Cost(1 / push["baseline"], "s", f"fanout: {name} (1 / baseline)", source),
        fanout_followers=_followers(push),
        web_ms_per_home=kind("web server workers + parent", "web server workers", "web server parent"),
        redis_ms_per_home=kind("redis", "redis"),
        pg_ms_per_home=kind("postgres", "postgres backends", "postgres postmaster + background"),
        pg_rows_per_second=Cost(pg["value"] * ROWS_PER_FOLLOW_TXN_IN_BENCH, "rows/s", pg_label, pg_source),
    )


def _followers(figure: dict[str, Any]) -> int:
    return int(figure["name"].split(" ", 1)[0].replace(",", ""))  # "100,000 active followers: ..."


def _largest_fanout(figures: Figures) -> tuple[dict[str, Any], Source]:
    """The "inserts/s vs bare Lua ZADD" figure of the largest fan-out in the first file that has one:
    the steadiest per-insert cost (small fan-outs are dominated by per-task overhead)."""
    for name, results in figures.runs:
        ours = [f for f in results["figures"] if f["name"].endswith(": inserts/s vs bare Lua ZADD")]
        if ours:
            meta = results["meta"]
            return max(ours, key=_followers), Source(name, meta.get("commit", "?"), meta.get("scale", "?"))
    raise MissingFigure("no fanout 'inserts/s vs bare Lua ZADD' figure")


@dataclass(frozen=True)
class Need:
    resource: str
    need: float
    unit: str
    per_box: float  # what one box (server / primary) gives
    add: str  # what to add, with its count filled in by `boxes`

    @property
    def boxes(self) -> int:
        return max(1, math.ceil(self.need / self.per_box - 1e-9))

    @property
    def ratio(self) -> float:
        return self.need / self.per_box


@dataclass(frozen=True)
class Model:
    users: int
    active: int
    top_followers: float  # the most followed account's expected followers
    pull_accounts: int  # and below, the share of follow edges pointing at them
    pull_edge_share: float
    inserts_per_tweet: float
    tweets_per_second: float  # this and the next two: at the peak
    inserts_per_second: float
    home_per_second: float
    feeds_gib: float
    tweet_cards_gib: float
    author_cards_gib: float
    largest_push: float  # active followers of the largest push-mode fan-out
    largest_push_seconds: float  # its duration on one worker and one feed server
    pg_rows_per_second: float
    wal_mib_per_second: float
    needs: tuple[Need, ...]

    @property
    def redis_gib(self) -> float:
        return self.feeds_gib + self.tweet_cards_gib + self.author_cards_gib

    @property
    def first_to_break(self) -> Need:
        return max(self.needs, key=lambda need: need.ratio)


def model(users: int, c: Costs) -> Model:
    active = round(users * ACTIVE_SHARE)
    pull_accounts, pull_share = pull_mode(users)
    # A uniformly chosen author has AVG_FOLLOWS followers on average; pull-mode edges are skipped and
    # only active followers have a feed to push into; +1 for the author's own feed.
    inserts_per_tweet = AVG_FOLLOWS * (1 - pull_share) * ACTIVE_SHARE + 1
    tweets_per_second = active * TWEETS_PER_ACTIVE_USER_PER_DAY / DAY * PEAK_TO_AVERAGE
    follows_per_second = active * FOLLOWS_PER_ACTIVE_USER_PER_DAY / DAY * PEAK_TO_AVERAGE
    home_per_second = active * HOME_VIEWS_PER_ACTIVE_USER_PER_DAY / DAY * PEAK_TO_AVERAGE
    inserts_per_second = tweets_per_second * inserts_per_tweet
    gib = 1024**3
    feeds_gib = active * c.feed_bytes.value / gib
    tweet_cards_gib = (
        active * TWEETS_PER_ACTIVE_USER_PER_DAY * CARD_CACHE_SECONDS / DAY * c.tweet_row_bytes.value / gib
    )
    author_cards_gib = active * c.author_row_bytes.value / gib  # at most every active author at once
    top = expected_followers(0, users)
    largest_push = min(top, CELEBRITY_THRESHOLD - 1) * ACTIVE_SHARE
    redis_cores = (
        inserts_per_second * c.push_seconds_per_insert.value + home_per_second * c.redis_ms_per_home.value / 1000
    )
    worker_cores = inserts_per_second * c.push_seconds_per_insert.value
    web_cores = home_per_second * c.web_ms_per_home.value / 1000
    pg_rows = tweets_per_second * ROWS_PER_TWEET + follows_per_second * ROWS_PER_FOLLOW
    wal = (pg_rows * WAL_BYTES_PER_ROW + tweets_per_second * c.tweet_heap_bytes.value) / 1024**2
    needs = (
        Need("Redis memory (feeds + cards)", feeds_gib + tweet_cards_gib + author_cards_gib, "GiB",
             REDIS_BOX_MEMORY_GIB, "Redis feed/cache servers of 24 GiB (FEEDS_REDIS_URLS)"),
        Need("Redis CPU (fan-out + home reads)", redis_cores, "cores", REDIS_CORE_BUDGET,
             "Redis feed shards, one core each"),
        Need("worker CPU (fan-out)", worker_cores, "cores", BOX_CORES * CORE_BUDGET, "2-core fan-out worker boxes"),
        Need("web CPU (home pages)", web_cores, "cores", BOX_CORES * CORE_BUDGET, "2-core web boxes"),
        Need("Postgres writes", pg_rows, "rows/s", c.pg_rows_per_second.value * PG_BUDGET,
             "write partitions (tweets by author, follows by follower) or bigger primaries"),
    )  # fmt: skip
    return Model(
        users=users, active=active, top_followers=top, pull_accounts=pull_accounts, pull_edge_share=pull_share,
        inserts_per_tweet=inserts_per_tweet, tweets_per_second=tweets_per_second,
        inserts_per_second=inserts_per_second, home_per_second=home_per_second, feeds_gib=feeds_gib,
        tweet_cards_gib=tweet_cards_gib, author_cards_gib=author_cards_gib, largest_push=largest_push,
        largest_push_seconds=largest_push * c.push_seconds_per_insert.value, pg_rows_per_second=pg_rows,
        wal_mib_per_second=wal, needs=needs,
    )  # fmt: skip


def _n(value: float) -> str:
    return f"{value:,.2f}" if abs(value) < 10 else f"{value:,.0f}"


def _cost_rows(c: Costs) -> list[str]:
    rows = [
        ("Redis bytes per feed (at its largest)", c.feed_bytes),
        ("Redis bytes per cached tweet row", c.tweet_row_bytes),
        ("Redis bytes per cached author row", c.author_row_bytes),
        ("Redis bytes per active user (feed + one page's rows; cross-check)", c.active_user_bytes),
        ("Postgres heap bytes per tweet row", c.tweet_heap_bytes),
        (f"fan-out time per insert, whole serial loop ({c.fanout_followers:,} followers)", c.push_seconds_per_insert),
        ("Redis time per insert at the bare-Lua ZADD ceiling (floor)", c.lua_seconds_per_insert),
        ("web CPU per logged-in home page", c.web_ms_per_home),
        ("Redis CPU per home page", c.redis_ms_per_home),
        ("Postgres CPU per home page", c.pg_ms_per_home),
        ("Postgres primary write rate (rows/s)", c.pg_rows_per_second),
    ]
    lines = ["| cost | value | figure | run |", "|---|---|---|---|"]
    for label, cost in rows:
        value = f"{cost.value * 1e6:,.2f} us" if cost.unit == "s" else f"{_n(cost.value)} {cost.unit}"
        run = f"{cost.source.file} ({cost.source.scale} scale, commit {cost.source.commit})"
        lines.append(f"| {label} | {value} | {cost.figure} | {run} |")
    return lines


def render(figures: Figures) -> str:
    c = costs(figures)
    models = ms = [model(users, c) for users in SIZES]
    worker_per_1k = c.push_seconds_per_insert.value * 1000 * 1000
    head = ["| | " + " | ".join(f"{m.users:,} users" for m in models) + " |", "|---|" + "---|" * len(models)]

    def row(label: str, values: list[str]) -> str:
        return f"| {label} | " + " | ".join(values) + " |"

    lines = [
        "# Capacity model",
        "",
        "Generated by `python -m bench.capacity " + " ".join(name for name, _ in figures.runs) + "` from `make bench`",
        "results; do not edit by hand (tests/bench/test_capacity.py checks it is what the module writes). The",
        "figures come from a 2-core machine shared with other work, so they are noisy: read every number below as",
        "an order of magnitude. The assumptions are the named constants at the top of bench/capacity.py.",
        "",
        "## Assumptions",
        "",
        f"- Active share {ACTIVE_SHARE:.0%} (seed_data's inactive share 0.2); {AVG_FOLLOWS} follows per user on",
        f"  average (`make bench` seeds 50), gamma out-degrees (shape {OUT_DEGREE_SHAPE}), followees by popularity",
        f"  weight 1/(rank + {ZIPF_OFFSET}) as adminpanel/seed/shape.py draws them.",
        f"- Per active user and day: {TWEETS_PER_ACTIVE_USER_PER_DAY:g} tweets, {FOLLOWS_PER_ACTIVE_USER_PER_DAY:g}"
        f" follows, {HOME_VIEWS_PER_ACTIVE_USER_PER_DAY:g} home page views;",
        f"  peak = {PEAK_TO_AVERAGE:g}x the daily mean.",
        f"- TIMELINE_LENGTH {TIMELINE_LENGTH} ids per feed; CELEBRITY_THRESHOLD {CELEBRITY_THRESHOLD:,} followers",
        f"  (pull mode above it); tweet rows cached {CARD_CACHE_SECONDS // 3600} h.",
        f"- Postgres rows written: {ROWS_PER_TWEET} per tweet, {ROWS_PER_FOLLOW} per follow (outbox insert and delete"
        f" included); WAL about {WAL_BYTES_PER_ROW} bytes per row write plus the tweet's own heap bytes.",
        f"- One box is this machine: {BOX_CORES} cores, 24 GiB, {REDIS_BOX_MEMORY_GIB:g} GiB of it for Redis;",
        f"  CPU planned at {CORE_BUDGET:.0%} at the peak, a Redis server at {REDIS_CORE_BUDGET:g} of its one core.",
        "",
        "## Per-unit costs (from the bench)",
        "",
        *_cost_rows(c),
        "",
        f"Worker CPU per 1,000 followers: at most {_n(worker_per_1k)} ms. The fan-out loop is serial (the worker",
        "waits for each batch's script call), so the whole loop time per insert is an upper bound on the worker's",
        "CPU and on Redis's CPU alike; the model charges it to both, which is conservative (the bare-Lua ceiling",
        "above is the floor for Redis). Home-page CPU is split by process kind from /proc (bench/cpu.py).",
        "",
        "## Needs at the peak",
        "",
        *head,
        row("active users", [f"{m.active:,}" for m in models]),
        row("most followed account (expected followers)", [f"{m.top_followers:,.0f}" for m in models]),
        row("pull-mode accounts / share of edges", [f"{m.pull_accounts:,} / {m.pull_edge_share:.1%}" for m in ms]),
        row("feed inserts per tweet (active, push-mode followers + own)", [_n(m.inserts_per_tweet) for m in models]),
        row("tweets/s", [_n(m.tweets_per_second) for m in models]),
        row("feed inserts/s", [_n(m.inserts_per_second) for m in models]),
        row("home pages/s", [_n(m.home_per_second) for m in models]),
        row("Redis GiB: feeds + tweet cards + author cards", [
            f"{m.redis_gib:,.1f} ({m.feeds_gib:,.1f} + {m.tweet_cards_gib:,.1f} + {m.author_cards_gib:,.1f})"
            for m in ms
        ]),
        row("Postgres rows/s (WAL MiB/s)", [f"{_n(m.pg_rows_per_second)} ({m.wal_mib_per_second:,.2f})" for m in ms]),
        row("largest push fan-out: active followers, seconds on one worker", [
            f"{m.largest_push:,.0f}, {m.largest_push_seconds:,.2f} s" for m in models
        ]),
    ]  # fmt: skip
    for index in range(len(models[0].needs)):
        first = models[0].needs[index]
        lines.append(row(f"{first.resource}: need / one box = boxes", [
            f"{_n(n.need)} {first.unit} / {_n(n.per_box)} = {n.boxes:,}" for n in (m.needs[index] for m in ms)
        ]))  # fmt: skip
    lines += ["", "## What breaks first, and what to add", ""]
    for m in models:
        first, ranked = m.first_to_break, sorted(m.needs, key=lambda n: -n.ratio)
        if first.ratio <= 1:
            lines.append(f"- **{m.users:,} users**: each resource fits one box; the first to fill is {first.resource}"
                         f" ({first.ratio:.0%} of one). Add nothing yet.")  # fmt: skip
            continue
        add = "; ".join(f"{need.add} x {need.boxes:,}" for need in ranked if need.boxes > 1)
        lines.append(f"- **{m.users:,} users**: {first.resource} first ({first.ratio:,.1f}x one box). Add: {add}.")
    lines += [
        "",
        "Pull mode bounds the largest push: an account over CELEBRITY_THRESHOLD is read at page time, whatever the "
        "size. Read replicas do not help the warm home page (0 SQL queries, bench page section), only cold pages.",
        "",
    ]
    return "\n".join(lines)


def load(paths: list[Path]) -> Figures:
    return Figures([(str(path), json.loads(path.read_text())) for path in paths])


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args:
        print("usage: python -m bench.capacity RESULTS.json [MORE.json ...]", file=sys.stderr)
        return 2
    DOC.write_text(render(load([Path(arg) for arg in args])))
    print(f"wrote {DOC}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
