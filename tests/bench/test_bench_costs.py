"""The capacity model's measured inputs (bench/fanout.py, bench/pgwrites.py) on the test servers:
the feed server's script time read from INFO commandstats, and the Postgres writes of a block of work."""

from __future__ import annotations

import pytest
from django.db import connection

from accounts.models import User
from bench import pgwrites
from bench.fanout import script_usec
from tweethub.redis import feeds

# A script long enough for the server to spend measurable microseconds in it.
_BUSY = "local n = 0 for i = 1, 200000 do n = n + i end return n"


def test_script_usec_sums_the_script_commands_only() -> None:
    stats = {
        "cmdstat_evalsha": {"calls": 3, "usec": 1200, "usec_per_call": 400.0},
        "cmdstat_eval": {"calls": 1, "usec": 30},
        "cmdstat_fcall": {"calls": 2, "usec": 7},
        "cmdstat_zadd": {"calls": 3000, "usec": 6900},  # counted again inside the scripts: left out
    }
    assert script_usec(stats) == 1237
    assert script_usec({}) == 0


def test_script_usec_sees_the_server_time_of_a_script_on_the_real_server() -> None:
    client = feeds()
    before = script_usec(client.info("commandstats"))
    client.eval(_BUSY, 0)
    client.eval(_BUSY, 0)
    assert script_usec(client.info("commandstats")) - before > 100  # two 200K-step loops: well over 100 us


@pytest.mark.django_db(transaction=True)
def test_measure_counts_the_rows_and_wal_of_the_work_only() -> None:
    def insert_two_update_one() -> None:
        a = User.objects.create(username="walone", email="walone@example.com")
        User.objects.create(username="waltwo", email="waltwo@example.com")
        User.objects.filter(pk=a.pk).update(name="Wal One")

    writes = pgwrites.measure(insert_two_update_one)

    assert (writes.inserted, writes.updated, writes.deleted, writes.rows) == (2, 1, 0, 3)
    assert writes.wal_bytes > 200  # two inserts with their index entries and an update

    nothing = pgwrites.measure(lambda: connection.ensure_connection())
    assert nothing.rows == 0
