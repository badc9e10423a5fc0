"""A newcomer on the demo site (issue 16): the landing page shows everyone's latest tweets and the demo
login, that login works, and a wrong address gets the site's own styled 404."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from adminpanel.seed import DEMO_PASSWORD, seed_demo
from tests.browser.conftest import LiveServer, assert_clean, screenshot

pytestmark = pytest.mark.browser


def test_a_visitor_explores_and_logs_in_with_the_demo_login_shown(page: Page, live: LiveServer) -> None:
    report = seed_demo()
    assert report.seeded, report.message

    page.goto(live.url + "/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Say it short. Read it fast.")
    demo = page.get_by_role("region", name="Try the demo account")
    expect(demo).to_contain_text(f"Username {report.username}, password {DEMO_PASSWORD}")
    explore = page.get_by_role("region", name="Explore")
    # The list's own cards, not the quoted tweets a quote post embeds (also article.tweet).
    tweets = explore.locator("article.tweet:not(.tweet-quote article)")
    expect(tweets).to_have_count(20)
    # Newest first: every tweet's id (time-ordered) is below the one above it.
    ids = [int(tweet_id or 0) for tweet_id in tweets.evaluate_all("els => els.map(e => e.dataset.tweetId)")]
    assert ids == sorted(ids, reverse=True)
    expect(page.get_by_role("heading", name="How it works")).to_be_visible()
    screenshot(page, "landing-explore")
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "landing-explore-mobile", full_page=False)
    page.set_viewport_size({"width": 1280, "height": 860})

    # Scrolling down loads older tweets into the list (static/js/tweet-list.js), still newest first.
    expect(explore.get_by_role("link", name="Older tweets")).to_be_visible()
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    expect(tweets.nth(39)).to_be_attached()  # a second page arrived (or more, as it keeps loading)
    more = [int(tweet_id or 0) for tweet_id in tweets.evaluate_all("els => els.map(e => e.dataset.tweetId)")]
    assert more[:20] == ids
    assert more == sorted(set(more), reverse=True)  # no tweet twice, none out of order
    assert_clean(page)
    # What the link opens without scripts: the older page itself.
    page.goto(f"{live.url}/?before={ids[-1]}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Explore")
    assert [
        int(tweet_id or 0)
        for tweet_id in page.locator("article.tweet:not(.tweet-quote article)").evaluate_all(
            "els => els.map(e => e.dataset.tweetId)"
        )
    ] == more[20:40]

    page.goto(live.url + "/")
    demo.get_by_role("link", name="Try the demo").click()
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    expect(page.get_by_role("region", name="Try the demo account")).to_contain_text(DEMO_PASSWORD)
    screenshot(page, "login-demo")
    page.get_by_label("Username or email").fill(report.username)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    assert_clean(page)


def test_error_pages_are_the_sites_own(page: Page, live: LiveServer) -> None:
    for url, status, heading, name in [
        ("/no-such-page/", 404, "We could not find that page", "error-404"),
        ("/?before=abc", 400, "We could not understand that request", "error-400"),
        ("/accounts/logout/", 405, "This page does not work that way", "error-405"),
    ]:
        response = page.goto(live.url + url)
        assert response is not None
        assert response.status == status, url
        expect(page.get_by_role("heading", level=1)).to_have_text(heading)
        expect(page.get_by_text("Using the URLconf")).to_have_count(0)
        # Styled by the site's stylesheet (the policy would block any inline style): the big code.
        code = page.locator(".error-code")
        expect(code).to_have_text(str(status))
        assert code.evaluate("el => getComputedStyle(el).fontWeight") == "800"
        expect(page.get_by_role("navigation", name="Main")).to_be_visible()
        screenshot(page, name)
    page.get_by_role("link", name="Back to TweetHub").click()
    expect(page).to_have_url(live.url + "/")
    # The site's 4xx answers are the documents themselves, not broken resources of theirs.
    assert_clean(page)
