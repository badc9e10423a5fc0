"""Smoke test of the http and realtime benchmark sections at the smallest scale: real server and
worker subprocesses on the test database, figures with positive values and nothing missing."""

from __future__ import annotations

import math
import socket

import pytest

from bench import core, http, realtime


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.django_db(transaction=True)  # the servers are other processes: they see committed rows only
def test_http_and_realtime_sections_report_figures() -> None:
    ctx = core.Context(scale=core.TINY, say=core.Progress(enabled=False), port=_free_port(), servers=("uvicorn",))

    figures = http.run(ctx)

    by_name = {figure.name: figure for figure in figures}
    home = by_name["uvicorn: logged-in home page throughput"]
    assert home.value > 0
    assert home.baseline is not None
    assert home.baseline > 0
    assert home.extra["websocket"] is True
    for view in ("home", "livez"):
        assert home.extra[view]["non_2xx"] == 0
        assert home.extra[view]["errors"] == 0
    assert by_name["uvicorn: logged-in home page p99"].value > 0
    assert by_name["fastest ASGI server serving websockets too: home page throughput"].extra["server"] == "uvicorn"

    figures = realtime.run(ctx)

    delivered = next(f for f in figures if f.name.endswith("deliveries received"))
    assert delivered.value == delivered.baseline == core.TINY.websockets * core.TINY.realtime_tweets
    assert delivered.met is True
    for figure in figures:
        assert math.isfinite(figure.value), figure
        assert figure.value > 0, figure
        for problem in ("MISSING", "REFUSED", "FAILED", "DUPLICATES"):
            assert problem not in figure.notes, figure
    assert {figure.section for figure in figures} == {"realtime", "memory"}
