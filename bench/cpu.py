"""CPU time of every process of the stack, read from /proc, to divide by the requests served.

The stack is: the ASGI server (parent and workers), Postgres (the postmaster, one backend per
connection, and its background processes), each Redis server the settings point at, and the
Celery worker when one runs. A snapshot sums utime + stime of each process plus cutime + cstime
(children it has reaped: a Postgres backend that exits between two snapshots still counts, under
the postmaster), grouped by kind. The difference of two snapshots around a fixed number of
requests, divided by that number, is the server CPU per request. The load client (this process)
is reported beside it, never in the sum.

Granularity is one clock tick (10 ms) per process and snapshot: measure hundreds of requests.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import connection

from tweethub.redis import client_for

TICK_MS = 1000 / os.sysconf("SC_CLK_TCK")
# Process titles of Postgres's own processes (not serving a connection): `postgres: checkpointer`...
PG_BACKGROUND = ("checkpointer", "background writer", "walwriter", "autovacuum", "logical replication",
                 "io worker", "archiver", "stats", "walsummarizer", "walreceiver", "walsender")  # fmt: skip
CLIENT = "load client (this process, not counted)"


def _stat(pid: int) -> tuple[int, float] | None:
    """(parent pid, CPU ms of the process and its reaped children), None if it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text.rsplit(")", 1)[1].split()  # the command name may hold spaces or ")"
    # After ")": state ppid ... utime(12) stime(13) cutime(14) cstime(15), 0-based from state.
    return int(fields[1]), sum(int(value) for value in fields[11:15]) * TICK_MS


def _title(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def _children() -> dict[int, list[int]]:
    found: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            stat = _stat(int(entry))
            if stat is not None:
                found.setdefault(stat[0], []).append(int(entry))
    return found


def _descendants(root: int, children: Mapping[int, list[int]]) -> list[int]:
    found, frontier = [], [root]
    while frontier:
        frontier = [child for pid in frontier for child in children.get(pid, [])]
        found += frontier
    return found


def postmaster_pid() -> int:
    """The Postgres server of this process's connection: the parent of our own backend."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (backend,) = cursor.fetchone()
    stat = _stat(int(backend))
    if stat is None:
        raise RuntimeError("Postgres runs on another machine or in another pid namespace: no /proc to read")
    return stat[0]


def redis_pids() -> list[int]:
    """The server process of every Redis the settings use (feeds, cache, channels, broker)."""
    urls = {settings.FEEDS_REDIS_URL, settings.CACHE_REDIS_URL, settings.CHANNELS_REDIS_URL, settings.REDIS_URL}
    pids = {int(client_for(url).info("server")["process_id"]) for url in urls}
    return sorted(pid for pid in pids if _stat(pid) is not None)


@dataclass
class Stack:
    """The roots of the processes to account for; found once, walked at every snapshot."""

    server: int  # the ASGI server's top process
    postmaster: int
    redis: list[int]
    worker: int | None = None  # the Celery worker's top process, when one runs

    @classmethod
    def find(cls, *, server: int, worker: int | None = None) -> Stack:
        return cls(server=server, postmaster=postmaster_pid(), redis=redis_pids(), worker=worker)

    def kinds(self) -> dict[int, str]:
        """pid -> kind for every live process of the stack (and this process, the client)."""
        children = _children()
        kinds = {self.server: "web server parent"}
        kinds |= {pid: "web server workers" for pid in _descendants(self.server, children)}
        kinds[self.postmaster] = "postgres postmaster + background"
        for pid in _descendants(self.postmaster, children):
            title = _title(pid).removeprefix("postgres: ")
            background = title.startswith(PG_BACKGROUND)
            kinds[pid] = "postgres postmaster + background" if background else "postgres backends"
        kinds |= {pid: "redis" for pid in self.redis}
        if self.worker is not None:
            kinds |= {pid: "celery worker" for pid in [self.worker, *_descendants(self.worker, children)]}
        kinds[os.getpid()] = CLIENT
        return kinds

    def snapshot(self) -> Snapshot:
        ms: dict[int, float] = {}
        kinds = self.kinds()
        for pid in kinds:
            stat = _stat(pid)
            if stat is not None:
                ms[pid] = stat[1]
        return Snapshot(ms=ms, kinds=kinds)


@dataclass
class Snapshot:
    ms: dict[int, float]  # pid -> CPU ms so far (with reaped children)
    kinds: dict[int, str]


@dataclass
class CpuUse:
    """CPU ms per request between two snapshots, in total and per process kind."""

    requests: int
    by_kind: dict[str, float] = field(default_factory=dict)  # ms per request
    client_ms: float = 0.0  # the load client's ms per request (not in the total)

    @property
    def total_ms(self) -> float:
        return sum(self.by_kind.values())

    def split(self) -> str:
        parts = sorted(self.by_kind.items(), key=lambda item: -item[1])
        return ", ".join(f"{kind} {ms:.2f}" for kind, ms in parts)


def cpu_per_request(before: Snapshot, after: Snapshot, requests: int) -> CpuUse:
    """The stack's CPU between the snapshots / requests. A process that started in between counts
    from zero; one that ended counts through its parent's reaped-children time."""
    spent: defaultdict[str, float] = defaultdict(float)
    for pid, ms in after.ms.items():
        kind = after.kinds[pid]
        spent[kind] += ms - before.ms.get(pid, 0.0)
    for pid, ms in before.ms.items():
        if pid not in after.ms:  # gone: its time moved into the parent's cutime, counted above
            spent[before.kinds[pid]] -= ms
    per = max(1, requests)
    client = spent.pop(CLIENT, 0.0)
    return CpuUse(requests=requests, by_kind={kind: ms / per for kind, ms in spent.items()}, client_ms=client / per)
