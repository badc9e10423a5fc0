"""Deleting from a tweet's own page asks exactly as lists do: confirm() with JavaScript, the
question page without it (tests/browser/test_tweet_lists.py has the lists' side)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Dialog, Page, expect

from tests.browser.conftest import LiveServer, assert_clean, log_in
from tests.factories import make_user
from tweets.models import Tweet

pytestmark = pytest.mark.browser


def _asked(page: Page, *, yes: bool) -> list[str]:
    """Answer the next question the page asks; the list fills with what it asked."""
    questions: list[str] = []

    def answer(dialog: Dialog) -> None:
        questions.append(dialog.message)
        if yes:
            dialog.accept()
        else:
            dialog.dismiss()

    page.once("dialog", answer)
    return questions


def test_the_tweet_page_asks_the_lists_question(page: Page, live: LiveServer) -> None:
    ann = make_user("ann", name="Ann Example")
    Tweet.objects.create(author=ann, text="Keep me")
    doomed = Tweet.objects.create(author=ann, text="Delete me from my page")
    log_in(page, live, "ann")

    page.goto(live.url + "/@ann/")
    in_list = _asked(page, yes=False)
    page.locator("article.tweet", has_text="Delete me").get_by_role("button", name="Delete").click()
    expect(page.locator("article.tweet", has_text="Delete me")).to_be_visible()
    assert len(in_list) == 1

    # The tweet's page: the same question. "Cancel": nothing happens, no question page.
    detail = f"{live.url}/tweets/{doomed.pk}/"
    page.goto(detail)
    on_page = _asked(page, yes=False)
    page.get_by_role("button", name="Delete").click()
    expect(page.locator("article.tweet")).to_have_count(1)
    assert on_page == in_list
    assert page.url == detail
    expect(page.get_by_role("heading", name="Delete this tweet?")).to_have_count(0)
    assert Tweet.objects.filter(pk=doomed.pk).exists()

    # "OK": deleted at once, and off to the profile (the tweet's page is gone).
    answered = _asked(page, yes=True)
    page.get_by_role("button", name="Delete").click()
    expect(page.get_by_text("Your tweet is deleted.")).to_be_visible()
    expect(page).to_have_url(live.url + "/@ann/")
    assert answered == in_list
    assert list(Tweet.objects.values_list("text", flat=True)) == ["Keep me"]
    assert_clean(page)


def test_without_javascript_the_tweet_page_asks_on_a_page(browser: Browser, live: LiveServer) -> None:
    ann = make_user("ann", name="Ann Example")
    doomed = Tweet.objects.create(author=ann, text="Delete me from my page")
    context = browser.new_context(java_script_enabled=False, viewport={"width": 1280, "height": 860})
    try:
        page = context.new_page()
        log_in(page, live, "ann")
        detail = f"{live.url}/tweets/{doomed.pk}/"
        page.goto(detail)
        page.get_by_role("button", name="Delete").click()
        expect(page.get_by_role("heading", name="Delete this tweet?")).to_be_visible()

        page.get_by_role("link", name="Cancel").click()  # back to the tweet, still there
        expect(page).to_have_url(detail)
        assert Tweet.objects.filter(pk=doomed.pk).exists()

        page.get_by_role("button", name="Delete").click()
        page.get_by_role("button", name="Delete").click()
        expect(page.get_by_text("Your tweet is deleted.")).to_be_visible()
        expect(page).to_have_url(live.url + "/@ann/")
        assert not Tweet.objects.exists()
    finally:
        context.close()
