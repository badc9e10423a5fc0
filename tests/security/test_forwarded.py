"""Forwarded headers are believed only from TRUSTED_PROXIES (issue 17, item 4).

Production ran uvicorn with --forwarded-allow-ips=* on a published port, so any client could write
its own X-Forwarded-For and have every request counted under a new address: 32 failed logins and
unlimited sign-ups without a 429. Here the web process is started exactly as the Procfile and the
Dockerfile start it (the command read from those files; only the port changes), with production
settings (DEBUG and demo mode off), and attacked with a new X-Forwarded-For on every request.
The site's own client_ip follows the same rule as uvicorn: compared on any forwarding chain.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from asgiref.sync import async_to_sync
from django.conf import settings
from django.core.handlers.asgi import ASGIRequest
from django.db import connection
from django.test import RequestFactory
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from pytest_django import DjangoDbBlocker, Settings
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from tests.factories import make_user
from tweethub.env import database_url_of
from tweethub.http import client_ip

ROOT = Path(__file__).resolve().parents[2]

# --- client_ip: the rule itself -------------------------------------------------------------------


def _ip(remote_addr: str, forwarded_for: str | None = None) -> str:
    request = RequestFactory().get("/", REMOTE_ADDR=remote_addr)
    if forwarded_for is not None:
        request.META["HTTP_X_FORWARDED_FOR"] = forwarded_for
    return client_ip(request)


def test_by_default_no_forwarded_header_is_believed(settings: Settings) -> None:
    assert settings.TRUSTED_PROXIES == []
    assert _ip("203.0.113.9", "198.51.100.1") == "203.0.113.9"
    assert _ip("127.0.0.1", "198.51.100.1") == "127.0.0.1"  # not even from loopback


@pytest.mark.parametrize(
    ("peer", "forwarded_for", "client"),
    [
        # The proxy appends who reached it; what the client wrote itself is further left.
        ("10.0.0.5", "6.6.6.6, 198.51.100.7", "198.51.100.7"),
        ("10.0.0.5", "198.51.100.7", "198.51.100.7"),
        # Two proxies of ours in a row (10.0.0.0/24): the first address that is not one of them.
        ("10.0.0.5", "6.6.6.6, 198.51.100.7, 10.0.0.9", "198.51.100.7"),
        ("10.0.0.5", "198.51.100.7:4711", "198.51.100.7"),
        ("10.0.0.5", "[2001:db8::7]:443", "2001:db8::7"),
        # Nothing but our proxies: the first one is the client (uvicorn's answer too).
        ("10.0.0.5", "10.0.0.8, 10.0.0.9", "10.0.0.8"),
        # No usable header: the proxy itself.
        ("10.0.0.5", "", "10.0.0.5"),
        ("10.0.0.5", None, "10.0.0.5"),
        # A peer that is not a proxy of ours: its header is ignored.
        ("10.0.1.5", "198.51.100.7", "10.0.1.5"),
    ],
)
def test_a_trusted_proxy_names_the_client(
    settings: Settings, peer: str, forwarded_for: str | None, client: str
) -> None:
    settings.TRUSTED_PROXIES = ["10.0.0.0/24"]
    assert _ip(peer, forwarded_for) == client


@pytest.mark.parametrize("bad", ["*", "10.0.0.1/8", "proxy.internal", "10.0.0.5 10.0.0.6"])
def test_a_bad_trusted_proxies_entry_stops_the_site_at_start_up(bad: str) -> None:
    result = subprocess.run(
        [sys.executable, "-c", "import tweethub.asgi"],
        cwd=ROOT,
        env={**os.environ, "TRUSTED_PROXIES": f"10.0.0.5,{bad}"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "ImproperlyConfigured: TRUSTED_PROXIES:" in result.stderr
    assert repr(bad) in result.stderr


# --- client_ip agrees with uvicorn's proxy-headers middleware on every chain ----------------------

TRUSTED = ["127.0.0.1", "10.0.0.0/24", "2001:db8:1::/64"]
HOPS = st.sampled_from(
    ["127.0.0.1", "10.0.0.7", "10.0.0.7:80", "10.0.1.7", "198.51.100.7", "198.51.100.7:4711", "2001:db8:1::9",
     "[2001:db8:1::9]:443", "2001:db8:2::9", "[2001:db8:2::9]", "", "unknown", "a:b:c", "[::1", "2001:db8:2::9]"]
)  # fmt: skip


def _through_uvicorn(peer: str, forwarded_for: list[str]) -> tuple[str, dict[str, Any]]:
    """What uvicorn's ProxyHeadersMiddleware, configured with TRUSTED as --forwarded-allow-ips,
    makes of this request: the client it puts in the scope, and the scope Django then gets."""
    seen: dict[str, Any] = {}

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        seen.update(scope)

    scope: Any = {
        "type": "http", "method": "GET", "path": "/", "raw_path": b"/", "query_string": b"", "root_path": "",
        "scheme": "http", "server": ("127.0.0.1", 8000), "client": (peer, 5000),
        "headers": [(b"host", b"testserver")] + [(b"x-forwarded-for", value.encode()) for value in forwarded_for],
    }  # fmt: skip
    middleware = ProxyHeadersMiddleware(app, trusted_hosts=",".join(TRUSTED))  # type: ignore[arg-type]
    async_to_sync(middleware)(scope, None, None)  # type: ignore[arg-type]
    return seen["client"][0], seen


def _as_django(scope: dict[str, Any]) -> str:
    return client_ip(ASGIRequest(scope, body_file=None))  # type: ignore[arg-type]


@hypothesis_settings(max_examples=300, deadline=None)
@given(
    peer=st.sampled_from(["127.0.0.1", "10.0.0.5", "10.0.1.5", "2001:db8:1::1", "203.0.113.9"]),
    headers=st.lists(st.lists(HOPS, min_size=1, max_size=4).map(", ".join), max_size=2),
)
def test_client_ip_agrees_with_uvicorn(peer: str, headers: list[str]) -> None:
    """The same list in both places gives one answer: the address uvicorn chose (Procfile and
    Dockerfile), the one client_ip finds behind uvicorn (which leaves the header in place), and the
    one client_ip finds by itself under a server that did nothing with the header."""
    from django.test.utils import override_settings

    uvicorn_client, scope = _through_uvicorn(peer, headers)
    untouched = {**scope, "client": (peer, 5000)}
    with override_settings(TRUSTED_PROXIES=TRUSTED):
        assert _as_django(scope) == uvicorn_client
        assert _as_django(untouched) == uvicorn_client


# --- The web process as production starts it, under spoofed headers -------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def procfile_web_command() -> str:
    """The Procfile's web line, as honcho runs it (through sh, with HOST and PORT set)."""
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.startswith("web:"):
            return line.split(":", 1)[1].strip()
    raise AssertionError("no web line in the Procfile")


def dockerfile_web_command(port: int) -> list[str]:
    """The Dockerfile's CMD (the web service of docker-compose.yml runs it too), listening on
    127.0.0.1:<port> here instead of the container's 0.0.0.0:8000."""
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    line = next(line for line in text.splitlines() if line.startswith("CMD "))
    argv = json.loads(line.removeprefix("CMD "))
    command = argv[2] if argv[:2] == ["sh", "-c"] else shlex.join(argv)
    assert command.count("--host 0.0.0.0 --port 8000") == 1, argv
    return ["sh", "-c", command.replace("--host 0.0.0.0 --port 8000", f"--host 127.0.0.1 --port {port}")]


def test_docker_compose_web_runs_the_images_command() -> None:
    """docker-compose.yml's web service has no command of its own (it would override the CMD tested
    here), and trusts forwarded headers from its reverse proxy's address alone."""
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    web = compose["services"]["web"]
    assert "command" not in web
    proxy_address = compose["services"]["proxy"]["networks"]["default"]["ipv4_address"]
    assert web["environment"]["TRUSTED_PROXIES"] == proxy_address == "${PROXY_ADDRESS:-172.30.0.10}"


@dataclass
class WebProcess:
    url_host: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    def tail(self) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-30:])


def _start(how: str, trusted_proxies: str | None, folder: Path) -> WebProcess:
    port = _free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"TRUSTED_PROXIES", "FORWARDED_ALLOW_IPS", "DJANGO_SETTINGS_MODULE"}
    }
    env.update(
        # Production settings on the test run's database and Redis (which the tests flush).
        DEBUG="0",
        DEMO_MODE="0",
        DEMO_SEED="0",
        DATABASE_URL=database_url_of(connection.settings_dict),
        FEEDS_REDIS_URL=settings.FEEDS_REDIS_URL,
        CACHE_REDIS_URL=settings.CACHE_REDIS_URL,
        CHANNELS_REDIS_URL=settings.CHANNELS_REDIS_URL,
        MEDIA_ROOT=str(folder / "media"),
        HOST="127.0.0.1",
        PORT=str(port),
        # What `make run` and the image put first: the venv's python and uvicorn.
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    )
    if trusted_proxies is not None:
        env["TRUSTED_PROXIES"] = trusted_proxies
    argv = ["sh", "-c", procfile_web_command()] if how == "procfile" else dockerfile_web_command(port)
    log = folder / f"web-{how}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(  # its own process group: stopped as one below
            argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    web = WebProcess(url_host="127.0.0.1", port=port, process=process, log=log)
    deadline = time.monotonic() + 120
    while True:
        if process.poll() is not None:
            pytest.fail(f"{how} web process exited:\n{web.tail()} ({shlex.join(argv)})")
        try:
            if _request(web, "GET", "/livez").status == 200:
                return web
        except OSError:
            pass
        if time.monotonic() > deadline:
            _stop(web)
            pytest.fail(f"{how} web process never answered /livez:\n{web.tail()}")
        time.sleep(0.2)


def _stop(web: WebProcess) -> None:
    try:
        os.killpg(web.process.pid, signal.SIGTERM)
        web.process.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(web.process.pid, signal.SIGKILL)
        web.process.wait(10)
    except ProcessLookupError:
        pass


@dataclass
class Answer:
    status: int
    body: str
    cookies: dict[str, str]


def _request(
    web: WebProcess,
    method: str,
    path: str,
    *,
    form: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    cookies: dict[str, str] | None = None,
) -> Answer:
    conn = http.client.HTTPConnection(web.url_host, web.port, timeout=30)
    try:
        sent = {"Host": "127.0.0.1", **(headers or {})}
        if cookies:
            sent["Cookie"] = "; ".join(f"{name}={value}" for name, value in cookies.items())
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        conn.request(method, path, body=body, headers=sent)
        response = conn.getresponse()
        got = {}
        for name, value in response.getheaders():
            if name.lower() == "set-cookie":
                cookie_name, _, rest = value.partition("=")
                got[cookie_name] = rest.split(";", 1)[0]
        return Answer(response.status, response.read().decode(errors="replace"), got)
    finally:
        conn.close()


@dataclass
class Visitor:
    """One browser: its cookies, and a CSRF token from a first GET of `form_path`."""

    web: WebProcess
    form_path: str
    cookies: dict[str, str] = field(default_factory=dict)
    token: str = ""

    def __post_init__(self) -> None:
        page = _request(self.web, "GET", self.form_path)
        assert page.status == 200, page.body[:300]
        self.cookies.update(page.cookies)
        found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.body)
        assert found is not None
        self.token = found.group(1)

    def post(self, form: dict[str, str], *, forwarded_for: str) -> Answer:
        answer = _request(
            self.web,
            "POST",
            self.form_path,
            form={"csrfmiddlewaretoken": self.token, **form},
            headers={"X-Forwarded-For": forwarded_for},
            cookies=self.cookies,
        )
        self.cookies.update(answer.cookies)
        return answer


@pytest.fixture(scope="module")
def web_servers(
    django_db_setup: None, django_db_blocker: DjangoDbBlocker, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[tuple[str, str | None], WebProcess]]:
    """Web processes started on demand, one per (how, TRUSTED_PROXIES), stopped after the module."""
    started: dict[tuple[str, str | None], WebProcess] = {}
    folder = tmp_path_factory.mktemp("forwarded")
    (folder / "media").mkdir()

    class Servers(dict[tuple[str, str | None], WebProcess]):
        def __missing__(self, key: tuple[str, str | None]) -> WebProcess:
            with django_db_blocker.unblock():
                self[key] = started[key] = _start(key[0], key[1], folder)
            return self[key]

    yield Servers()
    for web in started.values():
        _stop(web)


def _spoofed(n: int) -> str:
    return f"198.18.{n // 250}.{n % 250 + 1}"


# The production defaults (tweethub/settings/), which these tests do not override.
LOGIN_PER_IP, SIGNUP_PER_IP, RESET_PER_IP = 30, 10, 10


def test_production_limits_are_the_defaults() -> None:
    rates = (
        settings.RATE_LIMIT_LOGIN_PER_IP,
        settings.RATE_LIMIT_SIGNUP_PER_IP,
        settings.RATE_LIMIT_PASSWORD_RESET_PER_IP,
    )
    assert rates == (f"{LOGIN_PER_IP}/10m", f"{SIGNUP_PER_IP}/1h", f"{RESET_PER_IP}/1h")


HOW = pytest.mark.parametrize("how", ["procfile", "dockerfile"])


@HOW
@pytest.mark.django_db(transaction=True)
def test_failed_logins_under_a_new_forwarded_address_each_time_are_limited(
    web_servers: dict[tuple[str, str | None], WebProcess], how: str
) -> None:
    web = web_servers[how, None]
    visitor = Visitor(web, "/accounts/login/")
    # A different (unknown) name each time, so that only the per-address limit can stop it.
    codes = [
        visitor.post({"username": f"guess{n}", "password": "wrong"}, forwarded_for=_spoofed(n)).status
        for n in range(LOGIN_PER_IP + 2)
    ]
    assert codes[:LOGIN_PER_IP] == [400] * LOGIN_PER_IP
    assert codes[LOGIN_PER_IP:] == [429, 429]


@HOW
@pytest.mark.django_db(transaction=True)
def test_sign_ups_under_a_new_forwarded_address_each_time_are_limited(
    web_servers: dict[tuple[str, str | None], WebProcess], how: str
) -> None:
    web = web_servers[how, None]
    codes = []
    for n in range(SIGNUP_PER_IP + 1):
        visitor = Visitor(web, "/accounts/signup/")  # a new browser each time: a sign-up logs in
        password = "a-long-and-unusual-passphrase"
        form = {"name": "S", "username": f"spoof{n}", "email": f"spoof{n}@example.com",
                "password1": password, "password2": password}  # fmt: skip
        codes.append(visitor.post(form, forwarded_for=_spoofed(n)).status)
    assert codes == [302] * SIGNUP_PER_IP + [429]


@HOW
@pytest.mark.django_db(transaction=True)
def test_password_resets_under_a_new_forwarded_address_each_time_are_limited(
    web_servers: dict[tuple[str, str | None], WebProcess], how: str
) -> None:
    web = web_servers[how, None]
    make_user("rita", email="rita@example.com")
    visitor = Visitor(web, "/accounts/password/reset/")
    codes = [
        visitor.post({"email": "rita@example.com"}, forwarded_for=_spoofed(n)).status for n in range(RESET_PER_IP + 1)
    ]
    assert codes == [302] * RESET_PER_IP + [429]


@pytest.mark.django_db(transaction=True)
def test_behind_a_trusted_proxy_each_client_has_its_own_limit_and_cannot_spoof_it(
    web_servers: dict[tuple[str, str | None], WebProcess],
) -> None:
    """TRUSTED_PROXIES=127.0.0.1: requests come from a proxy on this machine, which appends the
    address it was reached from. A client writing its own X-Forwarded-For only adds entries to the
    left of that one: it is still limited under its real address; another client is not."""
    web = web_servers["procfile", "127.0.0.1"]
    visitor = Visitor(web, "/accounts/login/")
    codes = [
        visitor.post(
            {"username": f"guess{n}", "password": "wrong"}, forwarded_for=f"{_spoofed(n)}, 203.0.113.7"
        ).status
        for n in range(LOGIN_PER_IP + 1)
    ]
    assert codes == [400] * LOGIN_PER_IP + [429]
    other = visitor.post({"username": "guess-other", "password": "wrong"}, forwarded_for="203.0.113.8")
    assert other.status == 400
