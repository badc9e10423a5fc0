"""Issue 17, item 12: Postgres restarts and goes away under running web processes, DEBUG on and off.

Real processes: a Postgres server of the test's own (stopped and started again), migrated, with one
account; two uvicorn web processes on it, one with DEBUG off (production, `make run`) and one with
DEBUG on (`DEBUG=1 make run`). Each keeps a pool of connections, idle between requests.

Injected: a restart of Postgres (every pooled connection is then dead, though the pools cannot know
it until they use one), then Postgres stopped, then started again. Observed, in both modes:
- after the restart, the first requests (which meet the dead connections) answer 200 at once: the
  pool checks a connection before handing it out, and replaces them all at the first dead one;
- while Postgres is down, pages that need it answer the site's 503 page with Retry-After, to a
  visitor and to a logged-in member; the first request of each process waits for the pool's timeout
  (it began waiting before anything knew Postgres was gone), every later one well under it; a page
  that needs no database answers 200;
- the first request after Postgres is back answers 200.
Before: each dead connection failed a request after the restart; during the outage each request
waited the pool's timeout, and with DEBUG on over 25 s (Django's technical page printed QuerySets).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from devstack.servers import Postgres
from tests.factories import PASSWORD
from tests.faults.conftest import ROOT, Visitor, _free_port, _tail, wait_for, write_summary

# Pages that read Postgres for an anonymous visitor, and one that does not.
DB_PAGES = ["/@steady/", "/@steady/followers/", "/search/?q=steady"]
NO_DB_PAGE = "/accounts/login/"
# The web processes wait this long for a pooled connection: far longer than an answer that fails fast
# takes (DB_DOWN_TIMEOUT_SECONDS, 1 s), so one that waited for the pool instead is unmistakable.
POOL_TIMEOUT = 12.0
CONCURRENT = 4  # parallel requests that leave this many connections in each pool


@dataclass(frozen=True)
class Answer:
    status: int
    body: str
    retry_after: str | None
    seconds: float


def fetch(url: str) -> Answer:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    started = time.monotonic()
    try:
        with opener.open(url, timeout=60) as response:
            return Answer(response.status, response.read().decode(), None, time.monotonic() - started)
    except urllib.error.HTTPError as error:
        body = error.read().decode(errors="replace")
        return Answer(error.code, body, error.headers.get("Retry-After"), time.monotonic() - started)


@dataclass
class Stack:
    postgres: Postgres
    urls: dict[str, str]  # "debug-off" / "debug-on" -> base URL


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    # As root, Postgres runs as an unprivileged user who cannot enter pytest's private tmp folders:
    # the cluster lives under .local/ (where devstack keeps its own) instead.
    (ROOT / ".local").mkdir(exist_ok=True)
    cluster = Path(tempfile.mkdtemp(prefix="pgrestart-", dir=ROOT / ".local"))
    postgres = Postgres(
        name="restarted-postgres",
        log_path=cluster / "postgres.log",
        data_dir=cluster / "pgdata",
        socket_dir=cluster / "pgsock",
        database="pgrestart",
        durable=False,
    )
    postgres.start()
    base_env = {**os.environ, "DATABASE_URL": postgres.url, "DEBUG": "0"}
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=base_env, check=True)
    create = (
        "from django.utils import timezone; from accounts.models import User; "
        "User.objects.create_user(username='steady', email='steady@example.com', name='Steady', "
        f"password={PASSWORD!r}, verified_at=timezone.now())"
    )
    subprocess.run([*manage, "shell", "-c", create], cwd=ROOT, env=base_env, check=True)

    webs: list[subprocess.Popen[bytes]] = []
    urls: dict[str, str] = {}
    try:
        for mode, debug in (("debug-off", "0"), ("debug-on", "1")):
            port = _free_port()
            log = tmp_path / f"web-{mode}.log"
            env = {**base_env, "DEBUG": debug, "DB_POOL_TIMEOUT_SECONDS": str(POOL_TIMEOUT)}
            with log.open("wb") as out:
                web = subprocess.Popen(
                    [sys.executable, "-m", "uvicorn", "tweethub.asgi:application",
                     "--host", "127.0.0.1", "--port", str(port), "--lifespan", "off"],
                    cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                )  # fmt: skip
            webs.append(web)
            url = f"http://127.0.0.1:{port}"

            def live(web: subprocess.Popen[bytes] = web, url: str = url, log: Path = log) -> bool:
                if web.poll() is not None:
                    pytest.fail(f"web process exited:\n{_tail(log)}")
                try:
                    return fetch(url + "/livez").status == 200
                except OSError:
                    return False

            wait_for(live, timeout=60, what=f"the {mode} web process")
            urls[mode] = url
        yield Stack(postgres=postgres, urls=urls)
    finally:
        for web in webs:
            web.terminate()
            try:
                web.wait(10)
            except subprocess.TimeoutExpired:
                web.kill()
        postgres.stop()
        shutil.rmtree(cluster, ignore_errors=True)


def _fill_pools(stack: Stack) -> None:
    """Several requests at once in each process, so each pool holds several connections."""
    with ThreadPoolExecutor(CONCURRENT) as pool:
        for url in stack.urls.values():
            answers = list(pool.map(fetch, [url + DB_PAGES[i % len(DB_PAGES)] for i in range(CONCURRENT * 2)]))
            assert {answer.status for answer in answers} == {200}, [a.status for a in answers]


def _member_fetch(visitor: Visitor, path: str) -> Answer:
    started = time.monotonic()
    request = urllib.request.Request(visitor.base_url + path)  # noqa: S310 - our http:// URL
    try:
        with visitor.opener.open(request, timeout=60) as response:
            return Answer(response.status, response.read().decode(), None, time.monotonic() - started)
    except urllib.error.HTTPError as error:
        body = error.read().decode(errors="replace")
        return Answer(error.code, body, error.headers.get("Retry-After"), time.monotonic() - started)


@pytest.mark.timeout(300)
def test_stale_pooled_connections_after_a_restart_and_an_outage_answer_as_they_should(stack: Stack) -> None:
    members = {mode: Visitor(url) for mode, url in stack.urls.items()}
    for member in members.values():
        member.log_in("steady")
    _fill_pools(stack)

    # Restart: every pooled connection now talks to a server that is gone.
    stack.postgres.stop()
    stack.postgres.start()
    after_restart = {
        mode: [fetch(url + DB_PAGES[i % len(DB_PAGES)]) for i in range(CONCURRENT * 2)]
        for mode, url in stack.urls.items()
    }
    for mode, answers in after_restart.items():
        assert [answer.status for answer in answers] == [200] * len(answers), mode
        # Not by trying each dead connection in turn, with the pool's doubling delay in between.
        assert all(answer.seconds < POOL_TIMEOUT / 2 for answer in answers), [a.seconds for a in answers]
        assert "/accounts/logout/" in _member_fetch(members[mode], "/@steady/").body, mode

    # Outage: the site's 503 page in both modes, to visitors and members, failing fast.
    _fill_pools(stack)
    stack.postgres.stop()
    during_outage: dict[str, list[Answer]] = {}
    for mode, url in stack.urls.items():
        answers = []
        for page in DB_PAGES * 2:
            answers.append(fetch(url + page))
            answers.append(_member_fetch(members[mode], page))
        during_outage[mode] = answers
        for answer in answers:
            assert answer.status == 503, (mode, answer.status, answer.body[:300])
            assert "TweetHub is back in a moment" in answer.body
            assert "Traceback" not in answer.body
            assert answer.retry_after == "30"
        assert all(answer.seconds < POOL_TIMEOUT / 2 for answer in answers[1:]), [a.seconds for a in answers]
        no_db = fetch(url + NO_DB_PAGE)
        assert no_db.status == 200, mode
        assert no_db.seconds < POOL_TIMEOUT / 2, mode

    stack.postgres.start()
    back = {mode: fetch(url + DB_PAGES[0]) for mode, url in stack.urls.items()}
    for mode, answer in back.items():
        assert answer.status == 200, mode
        assert "/accounts/logout/" in _member_fetch(members[mode], "/@steady/").body, mode

    write_summary(
        "postgres_restart",
        {
            "first_answers_after_restart": {
                mode: [answer.status for answer in answers] for mode, answers in after_restart.items()
            },
            "first_answers_after_restart_slowest_s": {
                mode: round(max(answer.seconds for answer in answers), 2) for mode, answers in after_restart.items()
            },
            "outage_answers": {mode: [answer.status for answer in answers] for mode, answers in during_outage.items()},
            "outage_first_answer_s": {mode: round(answers[0].seconds, 2) for mode, answers in during_outage.items()},
            "outage_later_answers_slowest_s": {
                mode: round(max(answer.seconds for answer in answers[1:]), 2)
                for mode, answers in during_outage.items()
            },
            "first_answer_after_postgres_back": {mode: answer.status for mode, answer in back.items()},
            "pool_timeout_s": POOL_TIMEOUT,
        },
    )
