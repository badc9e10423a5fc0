"""Browser tests: Playwright (Python) driving Debian's chromium against a real ASGI server.

The server is a separate uvicorn process, exactly as production runs it, pointed at pytest-django's
test database; tests use committed data (`live_server` requests `transactional_db`).
Screenshots land in tests/artifacts/screenshots/ so people can look at the pages.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.db import connection
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    Playwright,
    Request,
    Response,
    expect,
    sync_playwright,
)

from tests.factories import PASSWORD
from tweethub.env import database_url_of

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "tests" / "artifacts" / "screenshots"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _test_database_url() -> str:
    """DATABASE_URL for the test database pytest-django created (same server, test_ name)."""
    return database_url_of(connection.settings_dict)


@dataclass
class LiveServer:
    url: str
    process: subprocess.Popen[bytes]
    log: Path
    env: dict[str, str]


@pytest.fixture(scope="session")
def _live_server_process(
    django_db_setup: None,
    django_db_blocker: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[LiveServer]:
    with django_db_blocker.unblock():  # type: ignore[attr-defined]
        database_url = _test_database_url()
    port = _free_port()
    log = tmp_path_factory.mktemp("live-server") / "uvicorn.log"
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DEBUG": "0",
        "MEDIA_ROOT": str(log.parent / "media"),
        # One server process serves every browser test while Redis is flushed between them: a
        # sidebar kept in its memory from one test would show the previous test's tags.
        "TRENDS_SIDEBAR_SECONDS": "0",
    }
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "tweethub.asgi:application",
             "--host", "127.0.0.1", "--port", str(port), "--lifespan", "off"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"live server exited:\n{log.read_text()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.1)
    else:
        process.kill()
        pytest.fail(f"live server did not start:\n{log.read_text()}")
    yield LiveServer(url=f"http://127.0.0.1:{port}", process=process, log=log, env=env)
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()


@pytest.fixture(scope="session")
def _live_worker_process(_live_server_process: LiveServer) -> Iterator[subprocess.Popen[bytes]]:
    """A real Celery worker process beside the live server, on the same test database and broker,
    so browser tests see fan-out and rebuilds happen the way production does."""
    env = {**os.environ, "DATABASE_URL": _live_server_process.env["DATABASE_URL"], "DEBUG": "0"}
    log = _live_server_process.log.parent / "worker.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "tweethub", "worker", "--pool", "solo",
             "--loglevel", "INFO", "--hostname", "live-worker@%h", "--without-mingle", "--without-gossip"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    deadline = time.monotonic() + 30
    while b"ready." not in log.read_bytes():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"live worker did not start:\n{log.read_text()}")
        time.sleep(0.1)
    yield process
    process.terminate()
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        process.kill()


@pytest.fixture
def live_with_worker(live: LiveServer, _live_worker_process: subprocess.Popen[bytes]) -> LiveServer:
    """The live site plus a running Celery worker (fan-out, backfills, rebuilds)."""
    return live


@pytest.fixture
def live(_live_server_process: LiveServer, transactional_db: None) -> LiveServer:
    """The running site, with this test's committed data (flushed after the test)."""
    return _live_server_process


@pytest.fixture(autouse=True)
def _orm_beside_playwright(monkeypatch: pytest.MonkeyPatch) -> None:
    """Playwright's sync API keeps an event loop running in this thread, so Django would refuse ORM
    calls from test code as "async context". The test code is plain sequential code: allow them,
    for browser tests only (the server under test runs in its own process, unaffected)."""
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


# Package scope: Playwright's event loop must be gone before non-browser tests run in this thread.
@pytest.fixture(scope="package")
def playwright_instance() -> Iterator[Playwright]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (`make test` does it when it may)")
    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="package")
def browser(playwright_instance: Playwright) -> Iterator[Browser]:
    browser = playwright_instance.chromium.launch(
        executable_path=str(CHROMIUM),
        headless=True,
        args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
              "--disable-component-update", "--disable-sync", "--no-first-run"],
    )  # fmt: skip
    yield browser
    browser.close()


@dataclass
class BrowserErrors:
    """What went wrong in a page: a clean page has nothing in any list.

    console: console errors, except Chrome's "Failed to load resource" lines (a page's own 4xx,
    such as a form answered with 400, is the test's business; failed subresources are below).
    page: uncaught JavaScript exceptions. resources: CSS/JS/images/XHR that failed or got >= 400.
    """

    console: list[str]
    page: list[str]
    resources: list[str]


def _watch(page: Page) -> BrowserErrors:
    errors = BrowserErrors(console=[], page=[], resources=[])

    def on_console(msg: ConsoleMessage) -> None:
        if msg.type == "error" and not msg.text.startswith("Failed to load resource"):
            errors.console.append(msg.text)

    def on_response(response: Response) -> None:
        if response.status >= 400 and response.request.resource_type != "document":
            errors.resources.append(f"{response.status} {response.url}")

    page.on("console", on_console)
    page.on("pageerror", lambda exc: errors.page.append(str(exc)))
    page.on("response", on_response)

    def on_request_failed(request: Request) -> None:
        # A request the page itself abandoned by navigating away is not a broken resource.
        if request.failure != "net::ERR_ABORTED":
            errors.resources.append(f"failed {request.url}: {request.failure}")

    page.on("requestfailed", on_request_failed)
    return errors


def assert_clean(page: Page) -> None:
    """No console errors, no uncaught exceptions, no failed subresources."""
    errors: BrowserErrors = page.errors  # type: ignore[attr-defined]
    assert errors.console == []
    assert errors.page == []
    assert errors.resources == []


# Content-Security-Policy violations any watched browser context (every page, frame and popup in
# it) reported during the current test; _fail_on_csp_violations fails the test on any.
_csp_violations: list[str] = []
# A captured mail's HTML document (and any srcdoc frame inside it: our pages have none) has a
# policy of its own that is there to block what the mail asks for, such as remote images.
_MAIL_DOCUMENT = re.compile(r"/admin/mails/\d+/html/|^about:srcdoc$")


def _record_csp_violation(msg: ConsoleMessage) -> None:
    # Chromium: "Executing inline script violates the following Content Security Policy directive
    # 'script-src 'self''. ... The action has been blocked." (older versions: "Refused to ...").
    url = msg.location.get("url") or ""
    if "Content Security Policy" in msg.text and not _MAIL_DOCUMENT.search(url):
        _csp_violations.append(f"{url or 'script'}: {msg.text}")


@pytest.fixture(autouse=True)
def _fail_on_csp_violations() -> Iterator[None]:
    """A page the site's policy breaks fails its test even when the test does not look at the
    console: a violation means a script, style or connection of ours was blocked."""
    _csp_violations.clear()
    yield
    assert _csp_violations == [], "Content-Security-Policy violations:\n" + "\n".join(_csp_violations)


def _new_page(browser: Browser) -> tuple[BrowserContext, Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    context.on("console", _record_csp_violation)
    page = context.new_page()
    page.errors = _watch(page)  # type: ignore[attr-defined]
    return context, page


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A page in a fresh browser context (its own cookies: a separate visitor)."""
    context, page = _new_page(browser)
    yield page
    context.close()


@pytest.fixture
def other_page(browser: Browser) -> Iterator[Page]:
    """A second, unrelated visitor: another context, so no cookies are shared with `page`."""
    context, page = _new_page(browser)
    yield page
    context.close()


def log_in(page: Page, live: LiveServer, username: str, password: str = PASSWORD) -> None:
    """Log in through the real login form, as a person would."""
    page.goto(live.url + "/accounts/login/")
    page.get_by_label("Username or email").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    # Attached, not visible: at phone widths the header folds it into the menu (static/js/nav.js).
    expect(page.get_by_role("button", name="Log out", include_hidden=True)).to_be_attached()
    page.wait_for_load_state("load")


def screenshot(page: Page, name: str, *, full_page: bool = True) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path
