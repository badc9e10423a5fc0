"""The servers a benchmark section starts as real subprocesses on this process's database and Redis:
an ASGI server (uvicorn, granian, daphne, gunicorn) and a Celery worker; each in its own process
group, stopped with everything it started. Also process trees and their memory (/proc).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from django.db import connection

from bench.load import fetch, run_async
from tweethub.env import database_url_of

HOST = "127.0.0.1"
APP = "tweethub.asgi:application"
ROOT = Path(__file__).resolve().parents[1]
WORKERS = 2  # one per core on these machines
PROCFILE_SERVER = "uvicorn"  # what the Procfile runs: the figures are for this one

# How each server is started: all serve the same ASGI app with access logs off. Granian's "asginl"
# is ASGI without the lifespan protocol, which Django's handler does not speak.
COMMANDS: dict[str, list[str]] = {
    "uvicorn": ["-m", "uvicorn", APP, "--host", HOST, "--port", "{port}", "--workers", "{workers}",
                "--lifespan", "off", "--no-access-log", "--log-level", "warning"],
    "granian": ["-m", "granian", "--interface", "asginl", "--host", HOST, "--port", "{port}",
                "--workers", "{workers}", "--no-access-log", "--log-level", "warning", APP],
    "daphne": ["-m", "daphne", "-b", HOST, "-p", "{port}", "-v", "0", APP],
    "gunicorn": ["-m", "gunicorn", "-k", "uvicorn_worker.UvicornWorker", "-w", "{workers}",
                 "-b", f"{HOST}:{{port}}", "--log-level", "warning", APP],
}  # fmt: skip
PROCESSES = {"uvicorn": f"{WORKERS} workers", "granian": f"{WORKERS} workers", "daphne": "1 process",
             "gunicorn": f"{WORKERS} uvicorn workers"}  # fmt: skip


class ServerFailed(RuntimeError):
    """A server (or worker) did not start or did not serve what it must."""


# --- Processes ------------------------------------------------------------------------------------


def database_url() -> str:
    """DATABASE_URL of the database this process uses (under pytest: the test database)."""
    return database_url_of(connection.settings_dict)


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    return {**os.environ, "DATABASE_URL": database_url(), "DEBUG": "0", **(extra or {})}


def _parents() -> dict[int, int]:
    found = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            # Field 4 (ppid) follows the command name, which may itself contain spaces or ")".
            found[int(entry)] = int(stat.rsplit(")", 1)[1].split()[1])
    return found


def process_tree(root: int) -> list[int]:
    parents = _parents()
    tree, frontier = [root], [root]
    while frontier:
        frontier = [pid for pid, parent in parents.items() if parent in frontier]
        tree += frontier
    return tree


def _status_kib(pid: int, field: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _pss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


@dataclass(frozen=True)
class Memory:
    processes: int
    rss_mib: float  # sum of VmRSS: counts pages shared by forked processes once per process
    pss_mib: float  # sum of proportional set sizes: shared pages split between sharers

    @classmethod
    def of_tree(cls, root: int) -> Memory:
        pids = process_tree(root)
        return cls(
            processes=len(pids),
            rss_mib=sum(_status_kib(pid, "VmRSS") for pid in pids) / 1024,
            pss_mib=sum(_pss_kib(pid) for pid in pids) / 1024,
        )


@dataclass
class Process:
    name: str
    process: subprocess.Popen[bytes]
    log: Path

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def memory(self) -> Memory:
        return Memory.of_tree(self.process.pid)

    def log_size(self) -> int:
        return self.log.stat().st_size

    def log_since(self, offset: int) -> bytes:
        return self.log.read_bytes()[offset:]

    def stop(self) -> None:
        """Stop the process and everything it started (its own process group)."""
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(15)
        # Workers outlive a supervisor that died first: the group goes down in any case.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(5)


def _spawn(name: str, args: list[str], env: dict[str, str]) -> Process:
    log = Path(tempfile.mkdtemp(prefix=f"bench-{name}-")) / f"{name}.log"
    with log.open("wb") as out:
        # Own session and process group: stop() ends the whole tree and nothing else.
        process = subprocess.Popen(
            [sys.executable, *args], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    return Process(name=name, process=process, log=log)


@dataclass
class Server(Process):
    port: int = 0

    @property
    def origin(self) -> str:
        return f"http://{HOST}:{self.port}"


def _port_is_free(port: int) -> bool:
    import socket

    with socket.socket() as sock:
        return sock.connect_ex((HOST, port)) != 0


@contextlib.contextmanager
def running_server(
    name: str, port: int, *, env: dict[str, str] | None = None, workers: int = WORKERS
) -> Iterator[Server]:
    """The ASGI server `name` on HOST:port with `workers` processes (daphne: always one), answering
    /livez; stopped (whole tree) on exit."""
    if name not in COMMANDS:
        raise ServerFailed(f"unknown server {name!r} (known: {', '.join(COMMANDS)})")
    if not _port_is_free(port):
        raise ServerFailed(f"port {port} is already in use")
    args = [arg.replace("{port}", str(port)).replace("{workers}", str(workers)) for arg in COMMANDS[name]]
    started = _spawn(name, args, child_env(env))
    server = Server(name=name, process=started.process, log=started.log, port=port)
    try:
        deadline = time.monotonic() + 60
        while True:
            if server.process.poll() is not None:
                raise ServerFailed(f"{name} exited with {server.process.returncode}:\n{server.log_tail()}")
            if time.monotonic() > deadline:
                raise ServerFailed(f"{name} did not answer /livez within 60 s:\n{server.log_tail()}")
            try:
                if run_async(fetch(HOST, port, "GET", "/livez")).status == 200:
                    break
            except OSError:
                pass
            time.sleep(0.1)
        yield server
    finally:
        server.stop()


@contextlib.contextmanager
def running_worker(*, concurrency: int = 2) -> Iterator[Process]:
    """A real Celery worker (prefork, as production runs it) on this process's database and broker."""
    with starting_worker(concurrency=concurrency) as (worker, wait_ready):
        wait_ready()
        yield worker


@contextlib.contextmanager
def starting_worker(*, concurrency: int = 2) -> Iterator[tuple[Process, Callable[[], None]]]:
    """A Celery worker that starts while the caller does something else (starts a server): the
    caller calls the second item before relying on it. Stopped (whole tree) on exit."""
    worker = _spawn(
        "worker",
        ["-m", "celery", "-A", "tweethub", "worker", "--pool", "prefork", "--concurrency", str(concurrency),
         "--loglevel", "INFO", "--hostname", f"bench-worker-{os.getpid()}@%h", "--without-mingle",
         "--without-gossip"],
        child_env(),
    )  # fmt: skip

    def wait_ready() -> None:
        deadline = time.monotonic() + 60
        while b"ready." not in worker.log.read_bytes():
            if worker.process.poll() is not None or time.monotonic() > deadline:
                raise ServerFailed(f"the Celery worker did not start:\n{worker.log_tail()}")
            time.sleep(0.1)

    try:
        yield worker, wait_ready
    finally:
        worker.stop()


def procfile_workers() -> dict[str, tuple[int, list[str]]]:
    """The Celery worker lines of the Procfile: name -> (its `nice` increment, 0 if none; the celery
    command's arguments after `celery`, without devstack.respawn), so a section runs the workers
    exactly as `make run` does."""
    found = {}
    for line in (ROOT / "Procfile").read_text().splitlines():
        name, _, command = line.partition(":")
        if " worker " not in command:
            continue
        args = command.split(" -- ", 1)[-1].split()
        niceness = int(args[args.index("-n") + 1]) if args[0] == "nice" else 0
        found[name.strip()] = (niceness, args[args.index("celery") + 1 :])
    return found


@dataclass(frozen=True)
class WorkerChanges:
    """What a measurement changes in the Procfile's worker lines, per worker name: its niceness, its
    --concurrency, environment variables of its own."""

    nice: dict[str, int] = field(default_factory=dict)
    concurrency: dict[str, int] = field(default_factory=dict)
    env: dict[str, dict[str, str]] = field(default_factory=dict)
    queues: dict[str, str] = field(default_factory=dict)  # name -> its -Q instead
    only: tuple[str, ...] = ()  # run these workers only (all when empty)


@contextlib.contextmanager
def running_procfile_workers(
    env: dict[str, str] | None = None, changes: WorkerChanges | None = None
) -> Iterator[list[Process]]:
    """Every Celery worker of the Procfile (queues, concurrency, niceness as written there, unless
    `changes` says otherwise), ready; stopped (whole trees) on exit. Host names made unique,
    mingle and gossip off as the other sections'."""
    changes = changes or WorkerChanges()
    workers = []
    try:
        for name, (niceness, args) in procfile_workers().items():
            if changes.only and name not in changes.only:
                continue
            if name in changes.queues:
                args[args.index("-Q") + 1] = changes.queues[name]
            if "--hostname" in args:  # each run names its own workers
                at = args.index("--hostname")
                args = args[:at] + args[at + 2 :]
            if name in changes.concurrency:
                args[args.index("--concurrency") + 1] = str(changes.concurrency[name])
            niceness = changes.nice.get(name, niceness)
            argv = ["-m", "celery", *args, "--hostname", f"bench-{name}-{os.getpid()}@%h",
                    "--without-mingle", "--without-gossip"]  # fmt: skip
            worker = _spawn(name, argv, child_env({**(env or {}), **changes.env.get(name, {})}))
            if niceness:  # long before it forks its pool (Django loads first): the children inherit it
                os.setpriority(os.PRIO_PROCESS, worker.process.pid, niceness)
            workers.append(worker)
        deadline = time.monotonic() + 90
        for worker in workers:
            while b"ready." not in worker.log.read_bytes():
                if worker.process.poll() is not None or time.monotonic() > deadline:
                    raise ServerFailed(f"the Celery worker {worker.name} did not start:\n{worker.log_tail()}")
                time.sleep(0.1)
        yield workers
    finally:
        for worker in workers:
            worker.stop()
