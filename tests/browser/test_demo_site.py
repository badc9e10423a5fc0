"""A newcomer's first minute on `make run`: the seeded demo site, entered with the printed login."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from adminpanel.seed import DEMO_PASSWORD, seed_demo
from tests.browser.conftest import LiveServer, assert_clean, log_in, screenshot

pytestmark = pytest.mark.browser


def test_demo_login_shows_a_full_home_feed(page: Page, live: LiveServer) -> None:
    report = seed_demo()
    assert report.seeded, report.message

    log_in(page, live, report.username, DEMO_PASSWORD)

    tweets = page.locator("article")
    expect(tweets.first).to_be_visible()
    assert tweets.count() >= 10  # a lived-in feed at once, not an empty page
    expect(page.get_by_text("Your timeline is empty")).to_have_count(0)
    # Seeded text reads like people: hashtags and mentions are real links.
    expect(page.locator("article a[href^='/tags/']").first).to_be_visible()
    screenshot(page, "demo-home")
    # Reposts and quotes on the first page too (adminpanel.seed.reposts): "X reposted" above an
    # original, and a quote with the quoted tweet embedded.
    reposted = page.locator("#timeline .tweet-reposted").first
    expect(reposted).to_be_visible()
    expect(reposted).to_contain_text("reposted")
    reposted.scroll_into_view_if_needed()
    screenshot(page, "demo-home-repost", full_page=False)
    quote = page.locator("#timeline .tweet-quote:not(.tweet-quote-gone)").first
    expect(quote.locator("article, .tweet").first).to_be_visible()
    quote.scroll_into_view_if_needed()
    screenshot(page, "demo-home-quote", full_page=False)
    # Conversations on the first page (adminpanel.seed.replies): open one and read it from the top.
    reply = page.locator("#timeline article.tweet", has=page.locator(".tweet-replying")).first
    expect(reply).to_be_visible()
    reply.get_by_role("link", name="Show this thread").click()
    expect(page.locator("#replies article.tweet").first).to_be_visible()
    screenshot(page, "demo-thread")
    assert_clean(page)
