"""Reposts and quotes in a real browser, with a real worker doing the fan-out: Rea reposts Ann's
tweet and her follower Fan sees "Rea reposted" at home; Rea undoes it and it is gone; Rea quotes it
and the quote embeds it; a deleted quoted tweet shows as such."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from playwright.sync_api import Browser, Page, expect

from follows.services import follow_create
from tests.browser.conftest import LiveServer, _new_page, assert_clean, log_in, screenshot
from tests.factories import make_user
from tweets.services import tweet_create, tweet_delete

pytestmark = pytest.mark.browser


def _reload_until(page: Page, check: Callable[[], bool], timeout: float = 15.0) -> None:
    """The worker fans out in the background: reload until its work shows."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("the page never showed the expected state")
        time.sleep(0.3)
        page.reload()


def test_repost_shows_in_a_followers_home_undo_and_quote(
    browser: Browser, page: Page, live_with_worker: LiveServer
) -> None:
    live = live_with_worker
    ann = make_user("ann", name="Ann Example")
    rea = make_user("rea", name="Rea Poster")
    fan = make_user("fan", name="Fan Follower")
    follow_create(follower=fan, followee=rea)
    original = tweet_create(author=ann, text="A tweet worth sharing with everyone #reposts")

    # Fan opens Home first: the worker builds the feed the repost will reach.
    fan_context, fan_page = _new_page(browser)
    log_in(fan_page, live, "fan")
    expect(fan_page.get_by_text("Your timeline is empty")).to_be_visible()

    # Rea reposts Ann's tweet from Ann's profile.
    log_in(page, live, "rea")
    page.goto(f"{live.url}/@ann/")
    card = page.locator("article.tweet").filter(has_text="worth sharing").first
    expect(card.locator(".tweet-reposts")).to_be_visible()
    screenshot(page, "reposts-before")
    card.get_by_role("link", name="Repost", exact=True).click()
    expect(page.get_by_role("heading", name="Repost this tweet?")).to_be_visible()
    screenshot(page, "reposts-ask")
    page.get_by_role("button", name="Repost", exact=True).click()
    expect(page.get_by_text("Reposted to your followers.")).to_be_visible()
    expect(page).to_have_url(f"{live.url}/@ann/")  # back where the control was
    card = page.locator("article.tweet").filter(has_text="worth sharing").first
    expect(card.locator(".tweet-repost-count")).to_have_text("1")

    # Fan sees it at home as Ann's tweet, "Rea Poster reposted".
    _reload_until(fan_page, lambda: fan_page.locator(".tweet-reposted").count() == 1)
    entry = fan_page.locator("article.tweet").first
    expect(entry.locator(".tweet-reposted")).to_have_text("Rea Poster reposted")
    expect(entry.locator(".tweet-name").first).to_have_text("Ann Example")
    expect(entry.locator(".tweet-text")).to_contain_text("worth sharing")
    screenshot(fan_page, "reposts-follower-home")
    assert_clean(fan_page)

    # Rea's profile shows the repost, with Undo.
    page.goto(f"{live.url}/@rea/")
    mine = page.locator("article.tweet").first
    expect(mine.locator(".tweet-reposted")).to_have_text("Rea Poster reposted")
    screenshot(page, "reposts-profile")
    mine.get_by_role("link", name="Undo repost").click()
    page.get_by_role("button", name="Undo repost").click()
    expect(page.get_by_text("Your repost is undone.")).to_be_visible()
    # Gone from Fan's open page (the live "deleted" event names the repost's id), and after a reload.
    _reload_until(fan_page, lambda: fan_page.locator(".tweet-reposted").count() == 0)
    fan_page.reload()
    expect(fan_page.get_by_text("Your timeline is empty")).to_be_visible()

    # Rea quotes it instead: the quote box shows the tweet, the quote embeds it.
    page.goto(f"{live.url}/@ann/")
    page.locator("article.tweet").filter(has_text="worth sharing").first.get_by_role(
        "link", name="Quote", exact=True
    ).click()
    expect(page.get_by_role("heading", name="Quote this tweet")).to_be_visible()
    screenshot(page, "reposts-quote-box")
    page.get_by_label("What is happening?").fill("This is exactly right.")
    page.get_by_role("button", name="Post quote").click()
    expect(page.get_by_text("Your quote is posted.")).to_be_visible()
    _reload_until(fan_page, lambda: fan_page.locator(".tweet-quote").count() == 1)
    quote = fan_page.locator("article.tweet").first
    expect(quote.locator(".tweet-text").first).to_have_text("This is exactly right.")
    expect(quote.locator(".tweet-quote .tweet-text")).to_contain_text("worth sharing")
    screenshot(fan_page, "reposts-quote-in-home")
    fan_page.set_viewport_size({"width": 390, "height": 844})
    screenshot(fan_page, "reposts-quote-in-home-mobile")
    fan_page.set_viewport_size({"width": 1280, "height": 860})

    # Ann deletes her tweet: the quote stays and says so.
    tweet_delete(tweet_id=original.pk, user=ann)
    _reload_until(fan_page, lambda: fan_page.get_by_text("This tweet was deleted.").count() == 1)
    screenshot(fan_page, "reposts-quote-deleted")
    assert_clean(fan_page)
    assert_clean(page)
    fan_context.close()
