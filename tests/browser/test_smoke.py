from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import LiveServer, assert_clean, screenshot

pytestmark = pytest.mark.browser


def test_landing_page_renders_cleanly(page: Page, live: LiveServer) -> None:
    response = page.goto(live.url + "/")
    assert response is not None
    assert response.status == 200

    expect(page).to_have_title("TweetHub: say it short, read it fast")
    expect(page.get_by_role("heading", level=1)).to_have_text("Say it short. Read it fast.")
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    expect(page.get_by_role("main")).to_be_visible()
    # The stylesheet loaded (served by whitenoise through the ASGI app): the header is sticky.
    assert page.eval_on_selector(".site-header", "el => getComputedStyle(el).position") == "sticky"

    screenshot(page, "landing")
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "landing-mobile")

    # Keyboard users get a skip link as the first tab stop.
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    assert_clean(page)
