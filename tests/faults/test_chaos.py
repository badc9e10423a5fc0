"""CHAOS TEST (issue 17, "beyond fixing"): steady traffic while each part of the site fails in turn.

The whole site runs as `make run` runs it: honcho on the real Procfile (uvicorn with two workers,
a Celery worker with two pool children, beat), every line under devstack.respawn, on a Postgres
and a Redis of the test's own, which the test restarts. Traffic all the time (tests/faults/
chaos_traffic.py): three people tweet; three follow and unfollow them and send direct messages over
HTTP; three readers keep their home page and a conversation open (websockets that reconnect and
catch up as static/js/live.js does) and send messages over the socket.

Injected in turn, each once the site has recovered by itself from the one before:
  1. Redis restarted, empty (feeds, session copies, presence, the broker's queue: all gone);
  2. the Celery worker's main process SIGKILLed (devstack.respawn starts a new one);
  3. uvicorn's main process SIGKILLed (respawn stops its orphaned workers, starts it again);
  4. Postgres restarted (fast shutdown: every pooled connection dies).
Recovered means /healthz answers 200 again and a tweet posted after the fault reached a reader's
socket live; the test restarts no process itself, the supervision does.

Then, the traffic stopped and the queues drained, it proves (tests/faults/chaos_run.py):
  - every write the site accepted (302, or dm.sent over the socket) is in Postgres: tweets,
    messages, and each follow or unfollow whose outcome is known;
  - every user's home timeline, read through timelines.selectors.home_timeline once the site's own
    page views had the feeds Redis lost rebuilt, equals the SQL oracle (tests/oracles.py);
  - every open page holds every tweet of its home timeline, and every message of its conversation,
    received live or by catch-up: none missing.
Its figures (requests accepted, faults, items lost, time to recover per fault, run time) are printed
and written to tests/artifacts/faults/chaos.json (honcho's console beside it); README.md's
Reliability section quotes them.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from devstack.servers import Redis
from tests.faults.chaos_run import STEADY, ChaosRun, Fault, chaos_site
from tests.faults.conftest import write_summary


@pytest.mark.timeout(600)
def test_chaos_steady_traffic_through_redis_worker_web_and_postgres_failures_loses_nothing(
    fault_redis: Redis, tmp_path: Path
) -> None:
    with chaos_site(fault_redis, tmp_path) as site:
        run = ChaosRun(site)
        run.wait_for_site()
        run.open_pages()
        run.start_traffic()
        run.stop.wait(STEADY)
        for fault in (
            Fault("redis_restart", run.restart_redis),
            Fault("worker_sigkill", lambda: run.kill("worker")),
            Fault("web_sigkill", lambda: run.kill("web")),
            Fault("postgres_restart", run.restart_postgres),
        ):
            run.inject(fault)
            run.stop.wait(STEADY)

        # The supervision restarted what was killed, and nothing else died.
        console = site.output()
        assert re.search(r"worker exited \(signal 9\) after \d+ s, restarting in 1 s", console), console[-3000:]
        assert re.search(r"web exited \(signal 9\) after \d+ s, restarting in 1 s", console), console[-3000:]
        assert [len(site.pids(name)) for name in ("web", "worker", "beat")] == [2, 2, 1], console[-3000:]
        run.settle()
        summary = run.verify()

    write_summary("chaos", summary)
    assert summary["items_lost"] == 0, json.dumps(summary["lost"], indent=1)
    assert not summary["items_on_pages_not_expected"]
    assert summary["requests_accepted"] > 0
    assert summary["page_reconnections"] >= len(run.pages)  # the faults did reach the sockets
