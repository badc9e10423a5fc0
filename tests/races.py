"""Helpers for tests that force two transactions to race on a real Postgres lock."""

from __future__ import annotations

import time

from django.db import connection


def wait_until_a_backend_waits_on_a_lock(what: str, timeout: float = 10.0) -> None:
    """Block until some connection to the test database waits on a lock (the second racer has
    reached the contended row), or fail saying `what` never waited."""
    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            row = cursor.fetchone()
            if row is not None and row[0] > 0:
                return
            time.sleep(0.02)
    raise AssertionError(f"{what} never waited for the first")
