"""Named figures from `make bench` results files, and the per-unit costs the model takes from them."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.capacity.assumptions import ROWS_PER_FOLLOW, ROWS_PER_FOLLOW_TXN_IN_BENCH, ROWS_PER_TWEET, WAL_BYTES_PER_ROW


class MissingFigure(LookupError):  # a named figure is in none of the files: run its section
    pass


@dataclass(frozen=True)
class Source:  # the results file a figure came from
    file: str
    commit: str
    scale: str


ESTIMATE = Source("none: estimated", "-", "-")  # a cost no results file measured (see Costs.estimated)


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

    def find(self, section: str, test: Callable[[str], bool]) -> tuple[dict[str, Any], Source]:
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

    def largest_fanout(self, suffix: str) -> tuple[dict[str, Any], Source]:
        """The fanout figure ending in `suffix` of the largest fan-out in the first file that has one:
        the steadiest per-insert cost (small fan-outs are dominated by per-task overhead)."""
        for name, results in self.runs:
            ours = [f for f in results["figures"] if f["section"] == "fanout" and f["name"].endswith(suffix)]
            if ours:
                meta = results["meta"]
                return max(ours, key=followers), Source(name, meta.get("commit", "?"), meta.get("scale", "?"))
        raise MissingFigure(f"no fanout figure ending {suffix!r}")


def followers(figure: dict[str, Any]) -> int:
    return int(figure["name"].split(" ", 1)[0].replace(",", ""))  # "100,000 active followers: ..."


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
    redis_seconds_per_insert: Cost  # the feed server's script time per insert (INFO commandstats)
    worker_ms_per_1k: Cost  # the fan-out worker's CPU per 1,000 followers
    pg_rows_per_tweet: Cost  # rows inserted + updated + deleted by tweet_create and its after-commit work
    pg_rows_per_follow: Cost
    wal_bytes_per_tweet: Cost
    wal_bytes_per_follow: Cost
    web_ms_per_home: Cost  # web worker CPU per logged-in home page
    redis_ms_per_home: Cost  # Redis CPU per home page
    pg_ms_per_home: Cost  # Postgres CPU per home page
    pg_rows_per_second: Cost  # one primary's measured write rate (rows)
    estimated: tuple[str, ...] = ()  # the costs above that no results file measured (fallback estimates)


def _fanout_costs(figures: Figures, push: Cost) -> tuple[Cost, Cost, list[str]]:
    """(Redis script time per insert, worker CPU per 1,000 followers, what was estimated), measured
    when a file has the figures; for older files, the whole loop's time per insert for both."""
    estimated = []
    try:
        server, source = figures.largest_fanout(": feed server script time per insert")
        redis = Cost(server["value"] / 1e6, "s", f"fanout: {server['name']}", source)
    except MissingFigure:
        redis = Cost(push.value, "s", f"estimate: {push.figure}", ESTIMATE)
        estimated.append("Redis time per insert")
    try:
        cpu, source = figures.largest_fanout(": worker CPU per 1,000 followers")
        worker = Cost(cpu["value"], "ms", f"fanout: {cpu['name']}", source)
    except MissingFigure:
        worker = Cost(push.value * 1e6, "ms", f"estimate: {push.figure} x 1,000", ESTIMATE)
        estimated.append("worker CPU per 1,000 followers")
    return redis, worker, estimated


def _write_costs(figures: Figures, heap: Cost) -> tuple[list[Cost], list[str]]:
    """Rows and WAL bytes per tweet and per follow (the postgres section's figures), or for files
    from before it measured them, rows counted from the services and WAL_BYTES_PER_ROW a row."""
    found, estimated = [], []
    for what, rows in (("tweet", ROWS_PER_TWEET), ("follow", ROWS_PER_FOLLOW)):
        try:
            found += [
                figures.cost("postgres", f"rows written per {what}"),
                figures.cost("postgres", f"WAL bytes per {what}"),
            ]
        except MissingFigure:
            wal = rows * WAL_BYTES_PER_ROW + (heap.value if what == "tweet" else 0)
            found += [Cost(rows, "rows", "estimate: counted from the services", ESTIMATE),
                      Cost(wal, "bytes", f"estimate: {WAL_BYTES_PER_ROW} bytes per row", ESTIMATE)]  # fmt: skip
            estimated.append(f"Postgres rows and WAL per {what}")
    return found, estimated


def costs(figures: Figures) -> Costs:
    push, source = figures.largest_fanout(": inserts/s vs bare Lua ZADD")
    name = push["name"]
    cpu, cpu_source = figures.find(
        "http", lambda n: n.endswith("server CPU per logged-in home page, all processes of the stack")
    )
    by_kind = cpu["extra"]["home"]

    def kind(label: str, *kinds: str) -> Cost:
        return Cost(sum(by_kind.get(k, 0.0) for k in kinds), "ms", f"http: {cpu['name']} ({label})", cpu_source)

    largest, _ = figures.find("memory", lambda n: n.startswith("Redis bytes per feed at its largest"))
    pg, pg_source = figures.find("postgres", lambda n: n.startswith("follows+unfollows of one account"))
    pg_label = f"postgres: {pg['name']} x {ROWS_PER_FOLLOW_TXN_IN_BENCH}"
    push_cost = Cost(1 / push["value"], "s", f"fanout: {name} (1 / value)", source)
    heap = figures.cost("memory", "Redis bytes per cached tweet row (tc:*)", field="baseline")
    redis, worker, estimated = _fanout_costs(figures, push_cost)
    (rows_tweet, wal_tweet, rows_follow, wal_follow), estimated_writes = _write_costs(figures, heap)
    return Costs(
        feed_bytes=figures.cost("memory", largest["name"]),
        tweet_row_bytes=figures.cost("memory", "Redis bytes per cached tweet row (tc:*)"),
        author_row_bytes=figures.cost("memory", "Redis bytes per cached author row (uc:*)"),
        active_user_bytes=figures.cost("memory", "Redis bytes per active user: feed keys + growth from a page read"),
        tweet_heap_bytes=heap,
        push_seconds_per_insert=push_cost,
        lua_seconds_per_insert=Cost(1 / push["baseline"], "s", f"fanout: {name} (1 / baseline)", source),
        fanout_followers=followers(push),
        redis_seconds_per_insert=redis,
        worker_ms_per_1k=worker,
        pg_rows_per_tweet=rows_tweet,
        pg_rows_per_follow=rows_follow,
        wal_bytes_per_tweet=wal_tweet,
        wal_bytes_per_follow=wal_follow,
        web_ms_per_home=kind("web server workers + parent", "web server workers", "web server parent"),
        redis_ms_per_home=kind("redis", "redis"),
        pg_ms_per_home=kind("postgres", "postgres backends", "postgres postmaster + background"),
        pg_rows_per_second=Cost(pg["value"] * ROWS_PER_FOLLOW_TXN_IN_BENCH, "rows/s", pg_label, pg_source),
        estimated=(*estimated, *estimated_writes),
    )


def load(paths: list[Path]) -> Figures:
    return Figures([(str(path), json.loads(path.read_text())) for path in paths])
