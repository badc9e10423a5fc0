"""bench.capacity: the model's arithmetic on a small synthetic results dict, and docs/capacity.md is what
the module writes from the results files it names (no bench run here)."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

from django.conf import settings

from bench import capacity


def _figure(section: str, name: str, value: float, baseline: float | None = None, **extra: object) -> dict[str, Any]:
    return {"section": section, "name": name, "value": value, "unit": "", "baseline": baseline, "extra": extra}


SYNTHETIC = {
    "meta": {"commit": "abc1234", "scale": "tiny"},
    "figures": [
        _figure("memory", "Redis bytes per feed at its largest (96 ids + floor)", 2000),
        _figure("memory", "Redis bytes per cached tweet row (tc:*)", 300, baseline=250),
        _figure("memory", "Redis bytes per cached author row (uc:*)", 100),
        _figure("memory", "Redis bytes per active user: feed keys + growth from a page read", 4000),
        _figure("fanout", "1,000 active followers: inserts/s vs bare Lua ZADD", 10_000, baseline=100_000),
        _figure("fanout", "100,000 active followers: inserts/s vs bare Lua ZADD", 50_000, baseline=200_000),
        _figure(
            "http",
            "granian: server CPU per logged-in home page, all processes of the stack",
            4.0,
            home={"web server workers": 3.0, "web server parent": 0.0, "redis": 0.5, "postgres backends": 0.0},
        ),
        _figure("postgres", "follows+unfollows of one account, 16 connections: transactions/s", 1000),
    ],
}


def test_top_account_followers_follow_the_zipf_harmonic_sum() -> None:
    users = 1_000_000
    # Weights 1/(rank + 3) for ranks 0..N-1 sum to H(N + 2) - H(2), summed here term by term.
    total = math.fsum(1.0 / (rank + 3) for rank in range(users))
    p = (1 / 3) / total
    theta = capacity.AVG_FOLLOWS / capacity.OUT_DEGREE_SHAPE
    expected = (users - 1) * (1 - (1 - math.log(1 - p) * theta) ** -capacity.OUT_DEGREE_SHAPE)
    assert math.isclose(capacity.expected_followers(0, users), expected, rel_tol=1e-9)
    assert 600_000 < expected < 620_000
    # The bench's full-scale seed (100K users x 50 follows) drew 67,504 for its top account.
    assert math.isclose(capacity.expected_followers(0, 100_000), 67_504, rel_tol=0.03)


def test_the_model_computes_memory_cpu_and_writes_from_the_named_figures() -> None:
    costs = capacity.costs(capacity.Figures([("synthetic.json", SYNTHETIC)]))
    assert costs.fanout_followers == 100_000  # the largest fan-out's figure is the one used
    assert costs.push_seconds_per_insert.value == 1 / 50_000
    m = capacity.model(1_000_000, costs)
    assert m.active == 800_000
    assert math.isclose(m.feeds_gib, 800_000 * 2000 / 1024**3)
    cards = 800_000 * capacity.TWEETS_PER_ACTIVE_USER_PER_DAY * capacity.CARD_CACHE_SECONDS / 86_400 * 300
    assert math.isclose(m.tweet_cards_gib, cards / 1024**3)
    home_per_second = 800_000 * capacity.HOME_VIEWS_PER_ACTIVE_USER_PER_DAY / 86_400 * capacity.PEAK_TO_AVERAGE
    web = next(need for need in m.needs if need.resource.startswith("web CPU"))
    assert math.isclose(web.need, home_per_second * 3.0 / 1000)
    postgres = next(need for need in m.needs if need.resource.startswith("Postgres"))
    assert postgres.per_box == 1000 * capacity.ROWS_PER_FOLLOW_TXN_IN_BENCH * capacity.PG_BUDGET
    assert m.largest_push == (capacity.CELEBRITY_THRESHOLD - 1) * capacity.ACTIVE_SHARE  # capped by pull mode


def test_the_mirrored_settings_match_the_real_ones() -> None:
    assert capacity.TIMELINE_LENGTH == settings.TIMELINE_LENGTH
    assert capacity.CELEBRITY_THRESHOLD == settings.CELEBRITY_THRESHOLD
    assert capacity.CARD_CACHE_SECONDS == settings.CARD_CACHE_SECONDS


def test_docs_capacity_is_what_the_module_generates() -> None:
    written = capacity.DOC.read_text()
    command = re.search(r"`python -m bench\.capacity ([^`]+)`", written)
    assert command, "docs/capacity.md does not name its results files"
    paths = [Path(name) for name in command.group(1).split()]
    assert written == capacity.render(capacity.load(paths)), "run `python -m bench.capacity ...` again"
