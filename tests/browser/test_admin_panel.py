"""The admin panel in a real browser: a visitor watches the live figures move as someone tweets."""

from __future__ import annotations

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from follows.services import follow_create
from tests.browser.conftest import LiveServer, assert_clean, log_in, screenshot
from tests.factories import make_user
from tweets.services import tweet_create

pytestmark = pytest.mark.browser


def test_a_visitor_sees_the_figures_change_after_a_tweet(
    page: Page, other_page: Page, live_with_worker: LiveServer
) -> None:
    live = live_with_worker
    now = timezone.now()
    ann, bob, cat = (make_user(name, last_active=now) for name in ("ann", "bob", "cat"))
    for follower, followee in ((bob, ann), (cat, ann), (ann, bob), (cat, bob)):
        follow_create(follower=follower, followee=followee)
    for author, text in ((ann, "Good morning, #TweetHub"), (bob, "Fan-out is fun"), (ann, "Third!")):
        tweet_create(author=author, text=text)  # the live worker fans these out, and times it

    page.goto(live.url + "/admin/")
    expect(page.get_by_role("heading", level=1)).to_have_text("How TweetHub works")
    page.evaluate("window.panelLoadedOnce = true")  # gone if the page reloads
    tweets = page.locator('[data-figure="tweets"]')
    now_bar = page.locator("#tweets-chart rect.bar-now")
    expect(tweets).to_have_text("3")
    expect(page.locator('[data-figure="users"]')).to_have_text("3")
    expect(now_bar).to_have_attribute("data-value", "3")
    expect(page.locator("#figures")).to_have_attribute("data-state", "live")
    # The worker measured the three fan-outs: the latency chart has points.
    expect(page.locator('[data-figure="samples"]')).to_have_text("3", timeout=15_000)
    expect(page.locator("#latency-chart circle.dot-p50")).to_have_count(1)
    celery_row = page.locator("tr", has=page.get_by_role("rowheader", name="Celery", exact=True))
    expect(celery_row).to_contain_text("1 worker online")

    # Someone else tweets, in another browser.
    log_in(other_page, live, "cat")
    other_page.get_by_label("What is happening?").fill("Watching the admin panel count this one")
    other_page.get_by_role("button", name="Tweet", exact=True).click()
    expect(other_page.get_by_text("Your tweet is posted.")).to_be_visible()

    # The visitor's panel moves by itself, without a reload.
    expect(tweets).to_have_text("4", timeout=10_000)
    expect(now_bar).to_have_attribute("data-value", "4", timeout=10_000)
    expect(page.locator('[data-figure="samples"]')).to_have_text("4", timeout=15_000)
    assert page.evaluate("window.panelLoadedOnce") is True
    # A visitor sees aggregates, never names.
    expect(page.get_by_text("Staff only")).to_have_count(0)
    expect(page.locator("main")).not_to_contain_text("@ann")
    screenshot(page, "admin-panel")
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "admin-panel-mobile")
    assert_clean(page)
    assert_clean(other_page)
