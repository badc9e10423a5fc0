"""Smoke test of the fanout_latency section (issue 20, point 3) at the smallest scale: the Procfile's
worker lines as real processes on the test database, the large fan-out in chunks on them, and every
figure present. Nothing here asserts on speed."""

from __future__ import annotations

import math

import pytest

from bench import core, fanout_latency


@pytest.mark.django_db(transaction=True)  # the workers are other processes: they see committed rows only
def test_fanout_latency_section_reports_its_figures() -> None:
    ctx = core.Context(scale=core.TINY, say=core.Progress(enabled=False))

    figures = fanout_latency.run(ctx)

    by_name = {figure.name: figure for figure in figures}
    target = by_name[f"25-follower fan-out latency p99 while a 50 fan-out runs [{fanout_latency.PROCFILE}]"]
    assert target.target == "ratio <= 2x"
    assert target.margin
    assert target.baseline is not None
    assert target.baseline > 0
    assert "5 chunk(s) of 10" in target.notes  # the large fan-out really went through its chunks
    assert all(math.isfinite(figure.value) and figure.value > 0 for figure in figures)
    assert any("server-side cursor" in name for name in by_name)
