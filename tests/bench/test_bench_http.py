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
    for connections in core.TINY.http_connections:  # every level, as at 16 and 64 in `make bench`
        label = f"uvicorn (2 workers), {connections} connections"
        home = by_name[f"{label}: logged-in home page req/s"]
        assert home.value > 0
        assert home.baseline is not None
        assert home.baseline > 0
        assert home.target == "ratio >= 0.5x"
        assert home.margin
        failed = by_name[f"{label}: failed home page requests"]
        assert failed.value == 0, failed.notes
        assert failed.baseline == 0, failed.notes
        assert by_name[f"{label}: home page p99"].value > 0
    cpu = by_name["uvicorn: server CPU per logged-in home page, all processes of the stack"]
    assert cpu.value > 0
    assert cpu.target == "<= 5 ms"
    assert cpu.extra["home"]["web server workers"] > 0
    assert {"postgres backends", "redis", "celery worker"} <= set(cpu.extra["home"])
    (size,) = [figure for name, figure in by_name.items() if name.startswith("home page bytes")]
    assert size.baseline is not None
    assert size.baseline > 0
    # Compressed or not, what comes back is the same page.
    assert size.extra["unpacked"] == (size.baseline if size.extra["encoding"] else size.value)
    fastest = by_name[
        f"fastest ASGI server serving websockets too: home page req/s at {core.TINY.http_connections[-1]}"
    ]
    assert fastest.extra["server"] == "uvicorn"

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
