"""Settings → API tokens in chromium: make a token (its secret shown once), use it, revoke it; and
the API's interactive docs render from the site's own files (no request leaves the site), under
the site's Content-Security-Policy (the autouse fixture fails on any violation)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest
from playwright.sync_api import Page, Request, expect

from tests.browser.conftest import LiveServer, assert_clean, log_in, screenshot
from tests.browser.test_accessibility import check
from tests.factories import make_user

pytestmark = pytest.mark.browser


def _api_status(live: LiveServer, token: str) -> int:
    request = urllib.request.Request(live.url + "/api/v1/me", headers={"Authorization": f"Bearer {token}"})  # noqa: S310 - our own live server
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - our own live server
            assert json.loads(response.read())["username"] == "ann"
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def test_make_use_and_revoke_a_token(page: Page, live: LiveServer) -> None:
    make_user("ann")
    log_in(page, live, "ann")
    page.goto(live.url + "/settings/profile/")
    page.get_by_role("link", name="API tokens").click()
    expect(page.get_by_role("heading", name="API tokens", level=1)).to_be_visible()
    assert check(page, page.url, "api-tokens") == {}
    page.get_by_label("Name").fill("my script")
    page.get_by_label("Read your home timeline, profile and discovery lists").check()
    page.get_by_role("button", name="Create token").click()
    secret = page.locator("[data-token]").inner_text()
    assert secret.startswith("thp_")
    screenshot(page, "api-token-created")
    assert _api_status(live, secret) == 200

    page.reload()  # a GET: the secret is not shown again
    expect(page.locator("[data-token]")).to_have_count(0)
    expect(page.get_by_text("my script")).to_be_visible()
    page.get_by_role("button", name="Revoke").click()
    expect(page.get_by_text("You have no tokens.")).to_be_visible()
    assert _api_status(live, secret) == 401
    assert_clean(page)


def test_the_api_docs_render_from_our_own_files(page: Page, live: LiveServer) -> None:
    requested: list[str] = []

    def remember(request: Request) -> None:
        requested.append(request.url)

    page.on("request", remember)
    page.goto(live.url + "/api/v1/docs/")
    expect(page.locator(".opblock").first).to_be_visible(timeout=15_000)
    expect(page.get_by_text("/api/v1/timelines/home")).to_be_visible()
    screenshot(page, "api-docs")
    assert requested
    assert all(url.startswith(live.url) or url.startswith("data:") for url in requested), requested
    assert_clean(page)
