"""Postgres down (issue 9, d): pages answer 503 with a readable page, /healthz names Postgres, and
the site recovers by itself when Postgres returns.

Real processes: a Postgres server of the test's own (stopped and started again), migrated, with
one account in it, and a uvicorn web process pointed at it. Redis is the test run's own.
"""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from devstack.servers import Postgres
from tests.factories import PASSWORD

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Answer:
    status: int
    body: str
    headers: dict[str, str]


def fetch(url: str, *, data: bytes | None = None, opener: urllib.request.OpenerDirector | None = None) -> Answer:
    request = urllib.request.Request(url, data=data)  # noqa: S310 (our own 127.0.0.1 server)
    try:
        with (opener or urllib.request.build_opener()).open(request, timeout=30) as response:
            return Answer(
                response.status, response.read().decode(), {k.lower(): v for k, v in response.headers.items()}
            )
    except urllib.error.HTTPError as error:
        return Answer(error.code, error.read().decode(), {k.lower(): v for k, v in error.headers.items()})


def logged_in(base: str, username: str, *, expect: int = 302) -> urllib.request.OpenerDirector | None:
    """A cookie-keeping client logged in as `username` (None when the login answered `expect` != 302)."""
    jar = http.cookiejar.CookieJar()

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: object, **kwargs: object) -> None:
            return None

    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), NoRedirect)
    page = fetch(base + "/accounts/login/", opener=opener)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.body)
    assert token is not None
    form = urllib.parse.urlencode(
        {"csrfmiddlewaretoken": token.group(1), "username": username, "password": PASSWORD}
    ).encode()
    answer = fetch(base + "/accounts/login/", data=form, opener=opener)
    assert answer.status == expect, (answer.status, answer.body[:300])
    if expect == 503:
        assert "TweetHub is back in a moment" in answer.body
    return opener if expect == 302 else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Site:
    url: str
    postgres: Postgres


@pytest.fixture
def site_on_own_postgres(tmp_path: Path) -> Iterator[Site]:
    # Run as root, devstack starts Postgres as an unprivileged user, which cannot enter pytest's
    # private tmp folders: the cluster lives under .local/ (where devstack keeps its own) instead.
    (ROOT / ".local").mkdir(exist_ok=True)
    cluster = Path(tempfile.mkdtemp(prefix="pgdown-", dir=ROOT / ".local"))
    postgres = Postgres(
        name="doomed-postgres",
        log_path=cluster / "postgres.log",
        data_dir=cluster / "pgdata",
        socket_dir=cluster / "pgsock",
        database="pgdown",
        durable=False,
    )
    postgres.start()
    env = {**os.environ, "DATABASE_URL": postgres.url, "DEBUG": "0"}
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)
    create = (
        "from django.utils import timezone; from accounts.models import User; "
        "User.objects.create_user(username='steady', email='steady@example.com', name='Steady', "
        f"password={PASSWORD!r}, verified_at=timezone.now())"
    )
    subprocess.run([*manage, "shell", "-c", create], cwd=ROOT, env=env, check=True)
    port = _free_port()
    log = tmp_path / "uvicorn.log"
    with log.open("wb") as out:
        web = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "tweethub.asgi:application",
             "--host", "127.0.0.1", "--port", str(port), "--lifespan", "off"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if web.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"web process did not start:\n{log.read_text()}")
                time.sleep(0.1)
        yield Site(url=f"http://127.0.0.1:{port}", postgres=postgres)
    finally:
        web.terminate()
        try:
            web.wait(10)
        except subprocess.TimeoutExpired:
            web.kill()
        postgres.stop()
        shutil.rmtree(cluster, ignore_errors=True)


def test_pages_answer_503_while_postgres_is_down_and_recover_on_their_own(site_on_own_postgres: Site) -> None:
    site = site_on_own_postgres
    member = logged_in(site.url, "steady")
    # Pages that read Postgres, for a visitor and for a member (whose session names a user row).
    pages = ["/@steady/", "/search/?q=steady", "/@steady/followers/"]
    for page in pages:
        assert fetch(site.url + page).status == 200, page
    assert "/accounts/logout/" in fetch(site.url + "/", opener=member).body
    health = json.loads(fetch(site.url + "/healthz").body)
    assert health["checks"]["postgres"]["ok"] is True

    site.postgres.stop()
    answers = [fetch(site.url + page) for page in pages] + [fetch(site.url + "/", opener=member)]
    for answer in answers:
        assert answer.status == 503, (answer.status, answer.body[:300])
        assert "TweetHub is back in a moment" in answer.body
        assert "Nothing you have posted is lost" in answer.body
        assert answer.headers["retry-after"] == "30"
    # What needs no database keeps working: the visitor's landing page and the login form.
    assert fetch(site.url + "/").status == 200
    login_form = fetch(site.url + "/accounts/login/")
    assert login_form.status == 200
    # Logging in needs the database: the readable 503 again, not a 500.
    assert logged_in(site.url, "steady", expect=503) is None
    health_answer = fetch(site.url + "/healthz")
    assert health_answer.status == 503
    assert "postgres" in json.loads(health_answer.body)["failing"]

    site.postgres.start()
    # No restart of the web process: its connection pool reconnects by itself.
    deadline = time.monotonic() + 60
    statuses: list[int] = []
    while time.monotonic() < deadline:
        statuses.append(fetch(site.url + "/@steady/").status)
        if statuses[-1] == 200:
            break
        time.sleep(0.5)
    assert statuses[-1] == 200, statuses
    for page in pages:
        assert fetch(site.url + page).status == 200, page
    assert "/accounts/logout/" in fetch(site.url + "/", opener=member).body  # still logged in
    assert json.loads(fetch(site.url + "/healthz").body)["checks"]["postgres"]["ok"] is True
    # Every answer in between was the readable 503, never a 500.
    assert set(statuses) <= {503, 200}, statuses
