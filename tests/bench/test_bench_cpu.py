"""The CPU accounting of bench/cpu.py: per-request division, per-kind split, processes that end
between snapshots, and the stack's processes found on the test servers."""

from __future__ import annotations

import os

import pytest

from bench.cpu import CLIENT, Snapshot, Stack, cpu_per_request


def test_cpu_per_request_sums_kinds_and_follows_an_ended_process_into_its_parent() -> None:
    kinds = {1: "web server workers", 2: "postgres backends", 3: "postgres postmaster + background", 9: CLIENT}
    before = Snapshot(ms={1: 100.0, 2: 40.0, 3: 10.0, 9: 5.0}, kinds=kinds)
    # The backend (pid 2) ended after 60 ms in all; the postmaster reaped it: +60 ms in its cutime.
    after = Snapshot(ms={1: 300.0, 3: 70.0, 9: 25.0}, kinds={k: v for k, v in kinds.items() if k != 2})

    used = cpu_per_request(before, after, requests=10)

    assert used.total_ms == pytest.approx((200 + 20) / 10)  # 200 web + the backend's last 20 ms
    assert used.by_kind["web server workers"] == pytest.approx(20.0)
    assert used.client_ms == pytest.approx(2.0)  # reported, never in the total


@pytest.mark.django_db
def test_the_stack_has_its_postgres_and_redis_processes() -> None:
    stack = Stack.find(server=os.getpid())

    kinds = stack.kinds()

    assert kinds[stack.postmaster] == "postgres postmaster + background"
    assert "postgres backends" in kinds.values()  # this test's own connection, at least
    assert stack.redis
    assert all(kinds[pid] == "redis" for pid in stack.redis)
    snapshot = stack.snapshot()
    assert snapshot.ms[stack.postmaster] >= 0
