"""Smoke test of the api benchmark section at the smallest scale: a real server and worker on the
test database, every figure present and finite, the in-process counts as the tests pin them."""

from __future__ import annotations

import math
import socket

import pytest

from bench import api, core
from tests.factories import make_user
from tweets.models import Tweet


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.django_db(transaction=True)  # the server is another process: it sees committed rows only
def test_api_section_reports_figures() -> None:
    # The reader follows TINY's 5 accounts with tweets: give them a full page's worth between them.
    for n in range(5):
        author = make_user(f"author{n}")
        Tweet.objects.bulk_create([Tweet(author=author, text=f"tweet {k} by {n}") for k in range(5)])
    ctx = core.Context(scale=core.TINY, say=core.Progress(enabled=False), port=_free_port(), servers=("uvicorn",))

    figures = api.run(ctx)

    by_name = {figure.name: figure for figure in figures}
    for connections in core.TINY.http_connections:
        label = f"uvicorn (2 workers), {connections} connections"
        throughput = by_name[f"{label}: API home timeline req/s (token, reader following 5)"]
        assert throughput.value > 0
        assert throughput.target == "ratio >= 0.5x"
        assert by_name[f"{label}: API home timeline vs the HTML home page, req/s"].baseline
        assert by_name[f"{label}: failed API home requests"].value == 0
    assert by_name["warm API home request in-process: SQL queries"].value == 0
    assert by_name["warm API home request in-process: Redis round trips"].value == 2
    size = by_name["API home timeline bytes with Accept-Encoding: gzip (20 tweets)"]
    assert 0 < size.value < size.extra["api"]["plain"]
    for figure in figures:
        assert math.isfinite(figure.value), figure
