"""The benchmark code runs end to end on tiny data, so `make bench` cannot rot unnoticed.

Figures at this size mean nothing and nothing here asserts on speed (the suite never does); the
test checks that every section produced its figures, that the feed-read and discover sections'
own correctness checks passed (they raise when a feed page differs from SQL, or when people
nearby from the GEO index differ from the Postgres scan), that the figures issue 15 sets targets
on carry their target and margin, and the report files.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from bench import core
from bench.__main__ import main

pytestmark = pytest.mark.django_db(transaction=True)


def test_bench_runs_on_tiny_data(tmp_path: Path) -> None:
    status = main(
        ["--scale", "tiny", "--sections", "memory", "feed_read", "page", "discover", "fanout", "--out", str(tmp_path)]
    )

    (report,) = tmp_path.glob("*.json")
    results = json.loads(report.read_text())
    assert results["errors"] == {}
    assert status == 0
    figures = results["figures"]
    assert {figure["section"] for figure in figures} == {"memory", "feed_read", "page", "discover", "fanout"}
    assert all(math.isfinite(figure["value"]) for figure in figures)
    assert results["meta"]["seed"]["users"] == 300
    fanout = [f for f in figures if f["section"] == "fanout" and f["unit"] == "inserts/s"]
    assert fanout
    assert all(f["baseline"] > 0 and f["ratio"] > 0 for f in fanout)
    # A repost's fan-out, as a ratio of a tweet's to the same followers in the same run.
    assert [f for f in fanout if f["name"].endswith(": repost fan-out inserts/s")]
    # The capacity model's inputs, from the largest fan-out: server script time and worker CPU, both measured.
    costs = {f["name"].split(": ", 1)[1]: f for f in figures if f["section"] == "fanout" and f["unit"] in ("us", "ms")}
    for name in ("feed server script time per insert", "worker CPU per 1,000 followers"):
        assert costs[name]["value"] > 0, name
        assert costs[name]["baseline"] > 0, name
    discover = [f for f in figures if f["section"] == "discover"]
    assert {f["name"].split(":")[0] for f in discover} >= {
        "suggestions", "friends of friends, first page", "followers of followers, first page", "people nearby",
    }  # fmt: skip
    assert all(f["baseline"] > 0 and f["ratio"] > 0 for f in discover)
    table = report.with_suffix(".md").read_text()
    for section in ("fanout", "feed_read", "page", "discover", "memory"):
        assert f"| {section} |" in table


def _by_name(figures: list[dict[str, Any]], section: str) -> dict[str, dict[str, Any]]:
    return {figure["name"]: figure for figure in figures if figure["section"] == section}


def test_feed_read_page_and_row_cache_figures_carry_baselines_and_targets(tmp_path: Path) -> None:
    main(["--scale", "tiny", "--sections", "memory", "feed_read", "page", "--out", str(tmp_path)])

    figures = json.loads(next(tmp_path.glob("*.json")).read_text())["figures"]
    feed = _by_name(figures, "feed_read")
    for following in core.TINY.read_followings:
        warm = feed[f"following {following:,}: warm read p99 (SQL/feed in ratio)"]
        assert warm["ratio_kind"] == "baseline/value"  # the speed-up over SQL, as the target reads
        assert warm["ratio"] == pytest.approx(warm["baseline"] / warm["value"])
        assert warm["target"] == "ratio >= 5x"  # 10x applies from 1,000 followees
        assert warm["margin"].startswith(("met", "missed by"))
        assert f"following {following:,}: warm read p50 (SQL/feed in ratio)" in feed
        cold = feed[f"following {following:,}: cold read p50, row cache of the page dropped"]
        assert cold["value"] > 0
        assert cold["baseline"] > 0
    page = _by_name(figures, "page")
    for following in core.TINY.page_followings:
        label = f"warm GET / in-process, following {following:,}"
        assert page[f"{label}: SQL queries"]["target"] == "<= 0 queries"
        assert page[f"{label}: SQL queries"]["baseline"] == 0  # anonymous /livez touches no database
        assert page[f"{label}: Redis round trips"]["target"] == "<= 2 round trips"
        calls = page[f"{label}: Python function calls"]
        assert calls["value"] > calls["baseline"] > 0
    memory = _by_name(figures, "memory")
    for pattern in ("tc:*", "uc:*"):
        (row,) = [figure for name, figure in memory.items() if name.endswith(f"({pattern})")]
        assert row["baseline"] > 0  # the same row in Postgres
        assert (row["value"] > 0) == (row["extra"]["keys"] > 0)
    per_user = memory["Redis bytes per active user: feed keys + growth from a page read"]
    assert per_user["baseline"] > 0
    # Avatar uploads (issue 17): each measured in its own process against a 400x400 PNG; the worst
    # accepted one is measured again eight at a time; the review's 40 Mpx PNG is refused unread.
    uploads = {name: figure for name, figure in memory.items() if name.startswith("avatar upload")}
    assert all(figure["baseline"] > 0 for figure in uploads.values())
    at_limit = [figure for name, figure in uploads.items() if name.endswith("at the pixel limit: peak RSS growth")]
    assert len(at_limit) == 6
    assert all(figure["value"] > 0 for figure in at_limit)
    assert all(figure["notes"].split(": ", 1)[1].startswith("stored") for figure in at_limit)
    (worst,) = [figure for name, figure in uploads.items() if "worst case allowed" in name]
    assert worst["value"] == max(figure["value"] for figure in at_limit)
    (crowd,) = [figure for name, figure in uploads.items() if "8 of the worst case at once" in name]
    assert crowd["baseline"] == worst["value"]
    assert sum(crowd["extra"]["counts"].values()) == 8
    review = uploads["avatar upload, the review's 40 Mpx PNG: peak RSS growth"]
    assert "refused: The image's dimensions are too large" in review["notes"]


def test_targets_say_met_or_by_how_much_they_are_missed() -> None:
    assert core.Target(">=", 10, "x").check(12.5) == (True, "met (12.5x, 2.5x to spare)")
    assert core.Target(">=", 10, "x").check(4) == (False, "missed by 6x (2.5x short)")
    assert core.Target("<=", 5, "ms").check(30) == (False, "missed by 25 ms (6.0x over)")
    assert core.Target("<=", 0, "requests").check(3) == (False, "missed by 3 requests")
    assert core.Target("<=", 0, "requests").check(0)[0] is True
    assert core.Target(">=", 0.5, "x").check(math.nan) == (None, "not measured")
    figure = core.aim(core.Figure("http", "home", 100, "req/s", baseline=400), core.Target(">=", 0.5, "x"))
    assert (figure.target, figure.met) == ("ratio >= 0.5x", False)
