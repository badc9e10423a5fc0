"""A process whose Postgres pool is exhausted answers 503 with Retry-After, not a 500."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client

from tests.factories import make_user
from tweethub.views import POOL_EXHAUSTED_RETRY_AFTER


@pytest.fixture
def small_pool() -> Iterator[dict[str, Any]]:
    """This process's pool, shrunk to 2 connections and a short wait, then put back."""
    options = connection.settings_dict["OPTIONS"]["pool"]
    saved = dict(options)
    connection.close()
    connection.close_pool()  # type: ignore[attr-defined]  # postgresql backend only
    options.update(max_size=2, min_size=1, timeout=0.5)
    yield options
    connection.close()
    connection.close_pool()  # type: ignore[attr-defined]
    options.clear()
    options.update(saved)


def _hold_a_connection(ready: threading.Barrier, release: threading.Event) -> None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            ready.wait(timeout=10)
            release.wait(timeout=30)
    finally:
        connection.close()


@pytest.mark.django_db(transaction=True)
def test_a_page_answers_503_with_retry_after_while_every_connection_is_taken(small_pool: dict[str, Any]) -> None:
    make_user("pooled")
    client = Client(raise_request_exception=False)
    assert client.get("/@pooled/").status_code == 200
    connection.close()  # back to the pool (the test client keeps it across requests otherwise)

    ready, release = threading.Barrier(small_pool["max_size"] + 1), threading.Event()
    holders = [
        threading.Thread(target=_hold_a_connection, args=(ready, release)) for _ in range(small_pool["max_size"])
    ]
    for holder in holders:
        holder.start()
    try:
        ready.wait(timeout=10)
        response = client.get("/@pooled/")
    finally:
        release.set()
        for holder in holders:
            holder.join(timeout=30)
    assert response.status_code == 503
    assert response["Retry-After"] == str(POOL_EXHAUSTED_RETRY_AFTER)
    assert "TweetHub is back in a moment" in response.content.decode()
    # Once connections are back, the same process serves the page again.
    assert client.get("/@pooled/").status_code == 200


def test_pools_fit_in_postgres_max_connections() -> None:
    """Every process at its pool's maximum still fits in the devstack's Postgres: 2 web workers,
    each Celery worker of the Procfile (parent and its children), beat and a shell, with the
    tests' own and margin."""
    import re
    from pathlib import Path

    from devstack.servers import POSTGRES_MAX_CONNECTIONS

    procfile = (Path(__file__).resolve().parents[2] / "Procfile").read_text()
    workers = [int(n) for n in re.findall(r" worker .*--concurrency (\d+)", procfile)]
    assert len(workers) == 3  # fanout+default+mail, fanout_large, rebuild (tweethub.queues)
    processes = 2 + sum(1 + children for children in workers) + 1 + 1
    assert processes == 11
    assert settings.DB_POOL_MAX_SIZE * processes <= POSTGRES_MAX_CONNECTIONS - 50
