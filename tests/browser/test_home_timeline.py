"""The core loop in a real browser, with a real worker doing the fan-out:
find someone by search, follow them, they tweet, it is on your home page; unfollow, it is gone."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import LiveServer, _new_page, assert_clean, log_in, screenshot
from tests.factories import make_user

pytestmark = pytest.mark.browser


def _reload_until(page: Page, check: object, timeout: float = 15.0) -> None:
    """The home page is server-rendered: reload until the background work shows (the live
    websocket update arrives with the realtime issue)."""
    deadline = time.monotonic() + timeout
    while True:
        if check():  # type: ignore[operator]
            return
        if time.monotonic() > deadline:
            raise AssertionError("the home page never showed the expected state")
        time.sleep(0.3)
        page.reload()


def test_follow_from_search_see_their_tweet_at_home_then_unfollow(
    browser: Browser, page: Page, live_with_worker: LiveServer
) -> None:
    live = live_with_worker
    make_user("ada", name="Ada Lovelace")
    make_user("bob", name="Bob Builder")

    # Bob opens his (empty) home page first: his feed gets built in Redis by the worker.
    log_in(page, live, "bob")
    expect(page.get_by_text("Your timeline is empty")).to_be_visible()

    # Bob finds Ada by part of her name and follows her from the results.
    page.goto(live.url + "/search/")
    page.get_by_label("Search people and tweets").fill("lovel")
    page.get_by_role("button", name="Search").click()
    result = page.locator(".person-row, li").filter(has_text="@ada").first
    result.get_by_role("button", name="Follow").click()
    expect(page.get_by_text("You follow @ada")).to_be_visible()
    screenshot(page, "home-search-followed")

    # Ada tweets, in her own browser.
    ada_context, ada_page = _new_page(browser)
    try:
        log_in(ada_page, live, "ada")
        ada_page.get_by_label("What is happening?").fill("Notes on the #AnalyticalEngine")
        ada_page.get_by_role("button", name="Tweet").click()
        expect(ada_page.get_by_text("Your tweet is posted.")).to_be_visible()
        assert_clean(ada_page)
    finally:
        ada_context.close()

    # Bob's home page shows it, served from his Redis feed (fan-out by the worker).
    page.goto(live.url + "/")
    timeline = page.locator("#timeline")
    _reload_until(
        page,
        lambda: (
            timeline.count() == 1
            and timeline.get_attribute("data-source") == "feed"
            and "AnalyticalEngine" in timeline.inner_text()
        ),
    )
    expect(timeline.get_by_role("link", name="#AnalyticalEngine")).to_be_visible()
    screenshot(page, "home-timeline")

    # Unfollow from Ada's profile: her tweet leaves Bob's home page.
    page.goto(live.url + "/@ada/")
    page.get_by_role("button", name="Unfollow").click()
    expect(page.get_by_text("You no longer follow @ada")).to_be_visible()
    page.goto(live.url + "/")
    _reload_until(page, lambda: "AnalyticalEngine" not in page.content())
    expect(page.get_by_text("Your timeline is empty")).to_be_visible()
    assert_clean(page)
