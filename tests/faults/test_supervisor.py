"""Issue 17, item 2: under `make run`, a process that dies is restarted and the site stays up.

`make run` ends in `exec honcho --procfile Procfile start`; honcho stops everything once any one
process exits, so each Procfile line runs under devstack.respawn. Here honcho runs the real
Procfile, as `make run` does, on the test database and a Redis of the test's own (its folder is the
processes' working directory, so beat's schedule file lands there, not in .local/).

Injected, in turn: SIGKILL of the Celery worker's main process, of beat, and of uvicorn's main
process. Observed: the console says what died and that it restarts; a new worker runs a task queued
while none was running; beat starts again; the web process comes back on the same port (its
orphaned worker processes, which still held the port, are stopped first); the site answered every
request while the worker and beat were down; and Ctrl-C (SIGINT to honcho) still stops it all.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.utils import timezone

from adminpanel.models import WorkerHeartbeat
from devstack.servers import Redis
from tests.faults.conftest import ROOT, _free_port, site_environment, wait_for, write_summary
from tweethub.celery import app as celery_app

STARTED = re.compile(r"^\S+ (web|worker|beat)\.1\s+\| (?:web|worker|beat) started \(pid (\d+)\)$", re.MULTILINE)


@dataclass
class Honcho:
    process: subprocess.Popen[bytes]
    log: Path
    url: str

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def pids(self, name: str) -> list[int]:
        """The pids `name` was started with, in order ("worker started (pid N)" lines)."""
        return [int(pid) for role, pid in STARTED.findall(self.output()) if role == name]

    def says(self, text: str) -> bool:
        return text in self.output()


@dataclass
class Poller:
    """A visitor loading the landing page (Postgres and Redis behind it) every 0.2 s."""

    url: str
    statuses: list[tuple[float, int]] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        while not self.stop.is_set():
            started = time.monotonic()
            try:
                with opener.open(self.url + "/", timeout=10) as response:
                    status = int(response.status)
            except urllib.error.HTTPError as error:
                status = error.code
            except OSError:
                status = 0
            self.statuses.append((started, status))
            self.stop.wait(0.2)

    def between(self, start: float, end: float) -> list[int]:
        return [status for at, status in self.statuses if start <= at <= end]


def _answers(url: str) -> bool:
    try:
        with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(url + "/livez", timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (dead, not yet reaped) counts as gone.
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"


@pytest.fixture
def honcho(transactional_db: None, fault_redis: Redis, tmp_path: Path) -> Iterator[Honcho]:
    port = _free_port()
    env = site_environment(fault_redis, tmp_path)
    env.update(
        HOST="127.0.0.1",
        PORT=str(port),
        PYTHONPATH=str(ROOT),
        # `make run` puts the venv first on PATH: the Procfile's python, uvicorn and celery.
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
        # Beat's periodic heartbeat stays out of the way: the only heartbeat is the test's task.
        WORKER_HEARTBEAT_SECONDS="3600",
    )
    (tmp_path / ".local").mkdir()
    log = tmp_path / "honcho.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(Path(sys.executable).parent / "honcho"), "--procfile", str(ROOT / "Procfile"), "--no-colour", "start"],
            cwd=tmp_path, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    running = Honcho(process=process, log=log, url=f"http://127.0.0.1:{port}")
    try:
        yield running
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(5)


@pytest.mark.timeout(420)
def test_a_killed_worker_beat_or_web_process_is_restarted_and_the_site_stays_up(
    honcho: Honcho, on_fault_redis: Redis
) -> None:
    def while_honcho_runs(predicate: Callable[[], bool]) -> Callable[[], bool]:
        """`predicate`, failing the test at once if honcho stopped (it stops everything)."""

        def poll() -> bool:
            if honcho.process.poll() is not None:
                pytest.fail(f"honcho stopped:\n{honcho.output()[-4000:]}")
            return predicate()

        return poll

    starting = time.monotonic()
    wait_for(
        while_honcho_runs(lambda: _answers(honcho.url) and honcho.says("ready.") and honcho.says("beat: Starting...")),
        timeout=180,
        interval=0.5,
        what="web, worker and beat to start under honcho",
    )
    began = time.monotonic()
    poller = Poller(honcho.url)
    thread = threading.Thread(target=poller.run, name="poller", daemon=True)
    thread.start()

    # The worker: SIGKILL, then a task queued while no worker runs must be run by the new one.
    [worker] = honcho.pids("worker")
    killed_at, killed_wall = time.monotonic(), timezone.now()
    os.kill(worker, signal.SIGKILL)
    # Queued once the supervisor has reaped the dead worker, so its socket is closed: sent in the
    # very instant of the kill, Redis could still hand it to the dead worker's pending BRPOP, and a
    # message popped that way is lost (kombu records it as unacknowledged only once received).
    wait_for(while_honcho_runs(lambda: honcho.says("worker exited (signal 9)")), timeout=30, what="the death seen")
    celery_app.send_task("adminpanel.tasks.heartbeat_task")

    wait_for(
        while_honcho_runs(lambda: WorkerHeartbeat.objects.filter(last_seen__gt=killed_wall).exists()),
        timeout=120,
        interval=0.5,
        what="a new worker to run the queued task",
    )
    worker_back = time.monotonic()
    assert honcho.says("worker exited (signal 9) after")
    assert re.search(r"worker exited \(signal 9\) after \d+ s, restarting in 1 s", honcho.output())
    assert len(honcho.pids("worker")) == 2
    assert not _alive(worker)

    # Beat: SIGKILL (its schedule file may be left mid-write), then it starts again.
    [beat] = honcho.pids("beat")
    beat_killed = time.monotonic()
    os.kill(beat, signal.SIGKILL)
    wait_for(
        while_honcho_runs(lambda: honcho.output().count("beat: Starting...") >= 2),
        timeout=90,
        interval=0.5,
        what="beat to start again",
    )
    beat_back = time.monotonic()
    assert re.search(r"beat exited \(signal 9\) after \d+ s, restarting in 1 s", honcho.output())

    # The site answered every request while the worker and then beat were down.
    statuses = poller.between(killed_at, beat_back)
    assert statuses, "the poller made no request"
    assert set(statuses) == {200}, statuses

    # The web process: SIGKILL of uvicorn's main process. Its two worker processes live on with the
    # listening socket; they must be stopped, or the new uvicorn cannot bind the port.
    [web] = honcho.pids("web")
    web_killed = time.monotonic()
    os.kill(web, signal.SIGKILL)
    wait_for(lambda: "web exited (signal 9)" in honcho.output(), timeout=30, what="the web process's death noticed")
    wait_for(
        while_honcho_runs(lambda: len(honcho.pids("web")) == 2 and _answers(honcho.url)),
        timeout=120,
        interval=0.5,
        what="the web process to serve again",
    )
    web_back = time.monotonic()
    poller.stop.set()
    thread.join(15)
    assert re.search(r"web left \d+ process\(es\) behind: stopped them", honcho.output())
    assert re.search(r"web exited \(signal 9\) after \d+ s, restarting in 1 s", honcho.output())
    assert poller.statuses[-1][1] == 200

    # Nothing above stopped honcho; Ctrl-C (SIGINT) still stops every process.
    assert honcho.process.poll() is None
    everyone = [pid for name in ("web", "worker", "beat") for pid in honcho.pids(name)]
    honcho.process.send_signal(signal.SIGINT)
    honcho.process.wait(60)
    wait_for(lambda: not any(_alive(pid) for pid in everyone), timeout=15, what="every process to stop")

    write_summary(
        "supervisor",
        {
            "seconds_to_start_all": round(began - starting, 1),
            "worker_killed_to_queued_task_done_s": round(worker_back - killed_at, 1),
            "beat_killed_to_started_s": round(beat_back - beat_killed, 1),
            "web_killed_to_answering_s": round(web_back - web_killed, 1),
            "requests_while_worker_and_beat_down": len(statuses),
            "non_200_while_worker_and_beat_down": sum(1 for status in statuses if status != 200),
            "requests_while_web_down": len(poller.between(web_killed, web_back)),
        },
    )
