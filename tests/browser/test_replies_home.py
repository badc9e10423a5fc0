"""The reply rule as a reader sees it on Home, with a real worker doing the fan-out: a reply reaches
a follower only if they also follow the person answered (Twitter's and Mastodon's rule)."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from playwright.sync_api import Browser, Page, expect

from follows.models import Follow
from tests.browser.conftest import LiveServer, _new_page, assert_clean, log_in, screenshot
from tests.factories import make_user
from tweets.models import Tweet

pytestmark = pytest.mark.browser


def _home_until(page: Page, live: LiveServer, check: Callable[[str], bool], timeout: float = 20.0) -> None:
    """Reload Home until the fan-out shows: `check` gets the timeline's text."""
    deadline = time.monotonic() + timeout
    while True:
        page.goto(live.url + "/")
        timeline = page.locator("#timeline")
        if timeline.count() and check(timeline.inner_text()):
            return
        if time.monotonic() > deadline:
            raise AssertionError("Home never showed the expected tweets")
        time.sleep(0.3)


def test_a_reply_reaches_only_followers_of_both_people(
    browser: Browser, page: Page, live_with_worker: LiveServer
) -> None:
    live = live_with_worker
    ann, bob = make_user("ann", name="Ann Example"), make_user("bob", name="Bob Builder")
    cat, dan = make_user("cat", name="Cat Example"), make_user("dan", name="Dan Example")
    # Cat follows Bob only; Dan follows Bob and Ann. Written before anyone's feed exists.
    Follow.objects.bulk_create(
        [Follow(follower=cat, followee=bob), Follow(follower=dan, followee=bob), Follow(follower=dan, followee=ann)]
    )
    question = Tweet.objects.create(author=ann, text="Which bakery has the best pastel de nata?")
    cat_context, cat_page = _new_page(browser)
    try:
        # Both readers' feeds are built before Bob writes (Home asks the worker to build them).
        log_in(cat_page, live, "cat")
        log_in(page, live, "dan")
        _home_until(page, live, lambda text: "pastel de nata" in text)

        # Bob answers Ann from her tweet's page, then tweets on his own.
        bob_context, bob_page = _new_page(browser)
        try:
            log_in(bob_page, live, "bob")
            bob_page.goto(f"{live.url}/tweets/{question.pk}/")
            bob_page.get_by_label("Your reply to @ann").fill("@ann The one by the tram stop, no contest.")
            bob_page.get_by_role("button", name="Reply", exact=True).click()
            expect(bob_page.get_by_text("Your reply is posted.")).to_be_visible()
            bob_page.goto(live.url + "/")
            bob_page.get_by_label("What is happening?").fill("Workshop open late on Friday")
            bob_page.get_by_role("button", name="Tweet").click()
            expect(bob_page.get_by_text("Your tweet is posted.")).to_be_visible()
            assert_clean(bob_page)
        finally:
            bob_context.close()

        # Dan follows both: the reply is on his Home, with its count on Ann's tweet.
        _home_until(page, live, lambda text: "tram stop" in text and "Workshop open late" in text)
        reply_card = page.locator("#timeline article.tweet", has_text="tram stop")
        expect(reply_card).to_contain_text("Replying to @ann")
        expect(
            page.locator("#timeline article.tweet", has_text="pastel de nata").locator(".tweet-reply-count")
        ).to_have_text("1")
        screenshot(page, "replies-home-follower-of-both")

        # Cat follows only Bob: his later tweet arrived, the reply to Ann did not.
        _home_until(cat_page, live, lambda text: "Workshop open late" in text)
        expect(cat_page.locator("#timeline")).not_to_contain_text("tram stop")
        screenshot(cat_page, "replies-home-follower-of-one")
        # It is no secret, only not in her feed: Bob's "Tweets & replies" tab has it.
        cat_page.goto(live.url + "/@bob/?tab=replies")
        expect(cat_page.locator("article.tweet", has_text="tram stop")).to_be_visible()
        assert_clean(cat_page)
    finally:
        cat_context.close()
    assert_clean(page)
