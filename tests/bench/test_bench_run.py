"""The benchmark code runs end to end on tiny data, so `make bench` cannot rot unnoticed.

Figures at this size mean nothing and nothing here asserts on speed (the suite never does); the
test checks that every section produced its figures, that the feed-read and discover sections'
own correctness checks passed (they raise when a feed page differs from SQL, or when people
nearby from the GEO index differ from the Postgres scan), and the report files.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.__main__ import main

pytestmark = pytest.mark.django_db(transaction=True)


def test_bench_runs_on_tiny_data(tmp_path: Path) -> None:
    status = main(
        ["--scale", "tiny", "--sections", "memory", "feed_read", "discover", "fanout", "--out", str(tmp_path)]
    )

    (report,) = tmp_path.glob("*.json")
    results = json.loads(report.read_text())
    assert results["errors"] == {}
    assert status == 0
    sections = {figure["section"] for figure in results["figures"]}
    assert sections == {"memory", "feed_read", "discover", "fanout"}
    assert all(figure["value"] > 0 for figure in results["figures"])
    assert results["meta"]["seed"]["users"] == 300
    fanout = [f for f in results["figures"] if f["section"] == "fanout" and f["unit"] == "inserts/s"]
    assert fanout
    assert all(f["baseline"] > 0 and f["ratio"] > 0 for f in fanout)
    discover = [f for f in results["figures"] if f["section"] == "discover"]
    assert {f["name"].split(":")[0] for f in discover} >= {
        "suggestions", "friends of friends, first page", "followers of followers, first page", "people nearby",
    }  # fmt: skip
    assert all(f["baseline"] > 0 and f["ratio"] > 0 for f in discover)
    table = report.with_suffix(".md").read_text()
    assert "| fanout |" in table
    assert "| feed_read |" in table
    assert "| discover |" in table
