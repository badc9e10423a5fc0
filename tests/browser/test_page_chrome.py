"""The cheap page in a real browser: tweet ages kept fresh by static/js/ages.js (same words as the
server's fallback, every 30 s and in tweets that arrive live), and the cached header's nav working
for visitors and members. No console errors, no CSP violations (conftest fails the test on any)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

from accounts.models import User
from tests.browser.conftest import LiveServer, _new_page, assert_clean, log_in, screenshot
from tests.factories import make_user
from tweets.models import Tweet

pytestmark = pytest.mark.browser


def _tweet(author: User, text: str, age: timedelta) -> Tweet:
    tweet = Tweet.objects.create(author=author, text=text)
    Tweet.objects.filter(pk=tweet.pk).update(created_at=timezone.now() - age)
    return tweet


def _server_ages(author: User, path: str) -> dict[str, tuple[str, str]]:
    """Tweet id -> (age, aria-label) as the server writes them (the no-JS page)."""
    client = Client()
    client.force_login(author)
    html = client.get(path).content.decode()
    found = re.findall(
        r'id="tweet-(\d+)".*?<a class="tweet-time" [^>]*aria-label="([^"]+)"><time [^>]*>([^<]+)</time>', html, re.S
    )
    return {tweet_id: (age, label) for tweet_id, label, age in found}


def _browser_ages(page: Page) -> dict[str, tuple[str, str]]:
    ages: dict[str, tuple[str, str]] = page.evaluate(
        """() => Object.fromEntries([...document.querySelectorAll("article.tweet")].map((card) => {
            const link = card.querySelector("a.tweet-time");
            return [card.dataset.tweetId, [link.textContent, link.getAttribute("aria-label")]];
        }))"""
    )
    return {tweet_id: (age, label) for tweet_id, (age, label) in ages.items()}


def test_ages_match_the_server_and_move_on_with_the_clock(page: Page, live: LiveServer) -> None:
    ann = make_user("ann", name="Ann Example")
    ages = {
        "fresh": timedelta(seconds=5),
        "minutes": timedelta(minutes=5, seconds=10),
        "one-hour": timedelta(hours=1, minutes=20),
        "hours": timedelta(hours=3, minutes=30),
        "days": timedelta(days=2, hours=1),
        "last-year": timedelta(days=400),
    }
    tweets = {name: _tweet(ann, f"A tweet from {name} ago", age) for name, age in ages.items()}

    page.clock.install()  # the real time, with timers Playwright can run forward
    log_in(page, live, "ann")
    page.goto(f"{live.url}/@ann/")
    expect(page.locator("article.tweet")).to_have_count(len(ages))
    # What the script writes is word for word what the server writes (tweet_age, tweet_age_long).
    server = _server_ages(ann, "/@ann/")
    assert _browser_ages(page) == server
    fresh = page.locator(f"#tweet-{tweets['fresh'].pk} a.tweet-time")
    expect(fresh).to_have_text("now")
    expect(fresh).to_have_attribute("aria-label", "Open tweet, posted just now")
    expect(page.locator(f"#tweet-{tweets['one-hour'].pk} a.tweet-time")).to_have_attribute(
        "aria-label", "Open tweet, posted 1 hour ago"
    )
    screenshot(page, "ages-profile")

    # Two minutes later, without a reload: the 30-second refresh has run.
    page.clock.run_for("02:00")
    expect(fresh).to_have_text("2m")
    expect(fresh).to_have_attribute("aria-label", "Open tweet, posted 2 minutes ago")
    expect(page.locator(f"#tweet-{tweets['minutes'].pk} a.tweet-time")).to_have_text("7m")
    expect(page.locator(f"#tweet-{tweets['hours'].pk} a.tweet-time")).to_have_text("3h")
    assert _browser_ages(page)[str(tweets["last-year"].pk)] == server[str(tweets["last-year"].pk)]
    assert_clean(page)


def test_a_tweet_that_arrives_live_shows_its_age_at_once(
    browser: Browser, page: Page, live_with_worker: LiveServer
) -> None:
    live = live_with_worker
    ada, bob = make_user("ada", name="Ada Lovelace"), make_user("bob", name="Bob Builder")
    from follows.services import follow_create
    from tweets.services import tweet_create

    follow_create(follower=bob, followee=ada)
    page.clock.install()
    log_in(page, live, "bob")
    page.goto(live.url + "/")
    expect(page.locator("html")).to_have_attribute("data-live", "open", timeout=10_000)

    tweet_create(author=ada, text="Written while Bob was away")
    bar = page.get_by_role("button", name="1 new tweet")
    expect(bar).to_be_visible(timeout=15_000)
    # Bob comes back to the tab three minutes later (no 30-second tick in between) and shows it:
    # the card was rendered as "now" when it was pushed, and must not say so any more.
    page.clock.set_system_time(timezone.now() + timedelta(minutes=3, seconds=5))
    bar.click()
    arrived = page.locator("#timeline .tweet-arrived a.tweet-time")
    expect(arrived).to_have_text("3m")
    expect(arrived).to_have_attribute("aria-label", "Open tweet, posted 3 minutes ago")
    screenshot(page, "ages-live-arrived")
    assert_clean(page)


def test_the_nav_works_for_visitors_and_members(browser: Browser, page: Page, live: LiveServer) -> None:
    make_user("ann", name="Ann Example")
    make_user("bob", name="Bob Builder")
    nav = page.get_by_role("navigation", name="Main")

    page.goto(live.url + "/")
    expect(nav.get_by_role("link", name="Home")).to_have_attribute("aria-current", "page")
    screenshot(page, "chrome-landing-visitor")
    nav.get_by_role("link", name="Search").click()
    expect(page).to_have_url(live.url + "/search/")
    expect(nav.get_by_role("link", name="Search")).to_have_attribute("aria-current", "page")
    expect(nav.get_by_role("link", name="Home")).not_to_have_attribute("aria-current", "page")
    nav.get_by_role("link", name="Log in").click()
    expect(nav.get_by_role("link", name="Log in")).to_have_attribute("aria-current", "page")

    log_in(page, live, "ann")
    expect(nav.get_by_role("link", name="Home")).to_have_attribute("aria-current", "page")
    screenshot(page, "chrome-home-member")
    for name, path in [("Profile", "/@ann/"), ("Discover", "/discover/"), ("Messages", "/messages/"),
                       ("Settings", "/settings/profile/"), ("Search", "/search/")]:  # fmt: skip
        nav.get_by_role("link", name=name).click()
        expect(page).to_have_url(live.url + path)
        expect(nav.get_by_role("link", name=name)).to_have_attribute("aria-current", "page")
    screenshot(page, "chrome-search-member")
    page.goto(live.url + "/@bob/")  # someone else's profile: nothing current
    expect(nav.locator("[aria-current]")).to_have_count(0)

    # A second member in another browser gets their own header, not Ann's kept one.
    other_context, other = _new_page(browser)
    try:
        log_in(other, live, "bob")
        expect(other.get_by_role("navigation", name="Main").get_by_role("link", name="Profile")).to_have_attribute(
            "href", "/@bob/"
        )
        assert_clean(other)
    finally:
        other_context.close()

    # Logging out uses the header's form (the request's own CSRF token).
    nav.get_by_role("button", name="Log out").click()
    expect(nav.get_by_role("link", name="Log in")).to_be_visible()
    expect(nav.get_by_role("button", name="Log out")).to_have_count(0)
    assert_clean(page)
