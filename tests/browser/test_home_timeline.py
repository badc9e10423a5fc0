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


def test_an_open_home_page_shows_new_tweets_live_and_drops_deleted_ones(
    browser: Browser, page: Page, live_with_worker: LiveServer
) -> None:
    live = live_with_worker
    ada, bob = make_user("ada", name="Ada Lovelace"), make_user("bob", name="Bob Builder")
    from follows.services import follow_create

    follow_create(follower=bob, followee=ada)

    log_in(page, live, "bob")
    page.goto(live.url + "/")
    # The socket is up (live.js marks it) before Ada tweets.
    expect(page.locator("html")).to_have_attribute("data-live", "open", timeout=10_000)

    ada_context, ada_page = _new_page(browser)
    try:
        log_in(ada_page, live, "ada")
        ada_page.get_by_label("What is happening?").fill("Live from the engine room #steam")
        ada_page.get_by_role("button", name="Tweet").click()
        expect(ada_page.get_by_text("Your tweet is posted.")).to_be_visible()

        # Bob did not reload: a bar announces it, a click shows it at the top.
        bar = page.get_by_role("button", name="1 new tweet")
        expect(bar).to_be_visible(timeout=15_000)
        screenshot(page, "home-live-bar")
        bar.click()
        expect(page.locator("#timeline").get_by_text("Live from the engine room")).to_be_visible()
        screenshot(page, "home-live-shown")

        # Ada deletes it from her profile; it leaves Bob's open page by itself.
        ada_page.goto(live.url + "/@ada/")
        ada_page.once("dialog", lambda dialog: dialog.accept())  # "Delete this tweet?"
        ada_page.get_by_role("button", name="Delete").first.click()
        expect(page.locator("#timeline").get_by_text("Live from the engine room")).to_have_count(0, timeout=15_000)
        assert_clean(ada_page)
    finally:
        ada_context.close()
    assert_clean(page)
