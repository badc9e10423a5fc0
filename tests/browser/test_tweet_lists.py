"""Rough edges of issue 16 in a real browser: the Tweet button past 280 characters, deleting after a
question (with and without JavaScript), older tweets loading as the reader scrolls down to "You're
all caught up" without breaking the live bar, and an unconfirmed member's empty home."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Dialog, Page, expect

from follows.services import follow_create
from tests.browser.conftest import LiveServer, assert_clean, log_in, screenshot
from tests.factories import make_user
from tweets.models import Tweet
from tweets.parsing import hashtags
from tweets.services import tweet_create

pytestmark = pytest.mark.browser


def test_the_tweet_button_waits_while_the_text_is_too_long(page: Page, live: LiveServer) -> None:
    make_user("cat", name="Cat Writer")
    log_in(page, live, "cat")
    box = page.get_by_label("What is happening?")
    button = page.get_by_role("button", name="Tweet", exact=True)
    counter = page.locator(".compose-counter")

    expect(counter).to_have_text("280 left")
    box.fill("a" * 265)
    expect(counter).to_have_text("15 left")
    expect(counter).to_have_class("compose-counter is-near")
    expect(button).to_be_enabled()
    screenshot(page, "lists-compose-near-limit", full_page=False)

    box.fill("a" * 281)
    expect(counter).to_have_text("1 too many")
    expect(counter).to_have_class("compose-counter is-over")
    expect(button).to_be_disabled()
    box.press("Control+Enter")  # the shortcut waits too: no refused post, no new page
    expect(page).to_have_url(live.url + "/")
    screenshot(page, "lists-compose-over-limit", full_page=False)

    # Counted as the server counts: surrounding whitespace is not counted, an emoji is one.
    box.fill("\n  " + "😀" * 280 + "  \n")
    expect(counter).to_have_text("0 left")
    expect(button).to_be_enabled()
    button.click()
    expect(page.get_by_text("Your tweet is posted.")).to_be_visible()
    assert list(Tweet.objects.values_list("text", flat=True)) == ["😀" * 280]
    assert_clean(page)


def test_deleting_asks_first_in_a_list(page: Page, live: LiveServer) -> None:
    ann = make_user("ann", name="Ann Example")
    Tweet.objects.create(author=ann, text="Keep me")
    Tweet.objects.create(author=ann, text="Delete me")
    log_in(page, live, "ann")
    page.goto(live.url + "/@ann/")
    doomed = page.locator("article.tweet", has_text="Delete me")
    questions: list[str] = []

    def answer(dialog: Dialog, *, yes: bool) -> None:
        questions.append(dialog.message)
        if yes:
            dialog.accept()
        else:
            dialog.dismiss()

    # "Cancel": nothing happens.
    page.once("dialog", lambda dialog: answer(dialog, yes=False))
    doomed.get_by_role("button", name="Delete").click()
    expect(page).to_have_url(live.url + "/@ann/")
    expect(doomed).to_be_visible()
    assert len(questions) == 1
    assert questions[0].startswith("Delete this tweet?")
    assert Tweet.objects.count() == 2

    # "OK": deleted, back on the same page.
    page.once("dialog", lambda dialog: answer(dialog, yes=True))
    doomed.get_by_role("button", name="Delete").click()
    expect(page.get_by_text("Your tweet is deleted.")).to_be_visible()
    expect(page).to_have_url(live.url + "/@ann/")
    expect(page.locator("article.tweet")).to_have_count(1)
    assert list(Tweet.objects.values_list("text", flat=True)) == ["Keep me"]
    assert_clean(page)


def test_deleting_asks_first_without_javascript(browser: Browser, live: LiveServer) -> None:
    ann = make_user("ann", name="Ann Example")
    Tweet.objects.create(author=ann, text="Keep me")
    doomed = Tweet.objects.create(author=ann, text="Delete me, #politely")
    context = browser.new_context(java_script_enabled=False, viewport={"width": 1280, "height": 860})
    try:
        page = context.new_page()
        log_in(page, live, "ann")
        page.goto(live.url + "/@ann/")
        page.locator("article.tweet", has_text="Delete me").get_by_role("button", name="Delete").click()
        expect(page.get_by_role("heading", name="Delete this tweet?")).to_be_visible()
        expect(page.locator("article.tweet .tweet-text")).to_have_text("Delete me, #politely")
        screenshot(page, "lists-delete-question")

        # Cancel goes back, and nothing changed.
        page.get_by_role("link", name="Cancel").click()
        expect(page).to_have_url(live.url + "/@ann/")
        assert Tweet.objects.filter(pk=doomed.pk).exists()

        page.locator("article.tweet", has_text="Delete me").get_by_role("button", name="Delete").click()
        page.get_by_role("button", name="Delete").click()
        expect(page.get_by_text("Your tweet is deleted.")).to_be_visible()
        expect(page).to_have_url(live.url + "/@ann/")
        assert list(Tweet.objects.values_list("text", flat=True)) == ["Keep me"]
    finally:
        context.close()


def _scroll_to_the_end(page: Page) -> None:
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")


def test_older_tweets_load_while_scrolling_to_all_caught_up(
    browser: Browser, page: Page, live_with_worker: LiveServer
) -> None:
    live = live_with_worker
    ada, bob = make_user("ada", name="Ada Lovelace"), make_user("bob", name="Bob Builder")
    follow_create(follower=bob, followee=ada)
    for n in range(45):
        Tweet.objects.create(author=ada, text=f"Note {n} on the #engine", tags=["engine"])

    log_in(page, live, "bob")
    timeline = page.locator("#timeline")
    expect(timeline.locator("article.tweet")).to_have_count(20)
    expect(page.get_by_role("link", name="Older tweets")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("data-live", "open", timeout=10_000)

    _scroll_to_the_end(page)
    expect(timeline.locator("article.tweet")).to_have_count(40)
    _scroll_to_the_end(page)
    expect(page.get_by_text("You\u2019re all caught up.")).to_be_visible()
    articles = timeline.locator("article.tweet")
    expect(articles).to_have_count(45)
    expect(page.get_by_role("link", name="Older tweets")).to_have_count(0)
    # Every tweet once, newest first, with its age written by static/js/ages.js.
    texts = articles.locator(".tweet-text").all_inner_texts()
    assert texts == [f"Note {n} on the #engine" for n in range(44, -1, -1)]
    expect(articles.last.locator(".tweet-time time")).to_have_text("now")
    assert page.url == live.url + "/"
    # Older tweets are no news: the live bar has nothing to announce.
    expect(page.locator("#new-tweets")).to_be_hidden()
    _scroll_to_the_end(page)
    screenshot(page, "lists-home-all-caught-up", full_page=False)

    # The live bar still works on the grown list.
    tweet_create(author=ada, text="Fresh from the engine room")
    bar = page.get_by_role("button", name="1 new tweet")
    expect(bar).to_be_visible(timeout=15_000)
    bar.click()
    expect(articles).to_have_count(46)
    expect(articles.first.locator(".tweet-text")).to_have_text("Fresh from the engine room")
    assert_clean(page)

    # The tag page loads its older tweets the same way (and has no "caught up" line).
    page.goto(live.url + "/tags/engine/")
    expect(page.locator("article.tweet")).to_have_count(20)
    _scroll_to_the_end(page)
    expect(page.locator("article.tweet")).to_have_count(40)
    _scroll_to_the_end(page)
    expect(page.locator("article.tweet")).to_have_count(45)
    expect(page.get_by_role("link", name="Older tweets")).to_have_count(0)
    assert_clean(page)


def test_without_javascript_older_tweets_are_a_link_to_the_end(browser: Browser, live: LiveServer) -> None:
    ada = make_user("ada", name="Ada Lovelace")
    for n in range(25):
        Tweet.objects.create(author=ada, text=f"Note {n}", tags=hashtags(f"Note {n}"))
    context = browser.new_context(java_script_enabled=False, viewport={"width": 1280, "height": 860})
    try:
        page = context.new_page()
        log_in(page, live, "ada")
        expect(page.locator("#timeline article.tweet")).to_have_count(20)
        page.get_by_role("link", name="Older tweets").click()
        expect(page.locator("#timeline article.tweet")).to_have_count(5)
        expect(page.get_by_text("You\u2019re all caught up.")).to_be_visible()
    finally:
        context.close()


def test_an_unconfirmed_members_empty_home_offers_people_to_follow(page: Page, live: LiveServer) -> None:
    star = make_user("star", name="Star Writer", bio="Writes about engines.")
    for n in range(3):
        follow_create(follower=make_user(f"fan{n}"), followee=star)
    make_user("newbie", name="New Member", verified=False)
    log_in(page, live, "newbie")
    empty = page.locator("#timeline-empty")
    expect(empty.get_by_text("Your timeline is empty.")).to_be_visible()
    expect(page.get_by_text("Tweet something")).to_have_count(0)
    expect(empty.locator(".person")).to_have_count(1)  # the fans have no followers: not offered
    offer = empty.locator(".person", has_text="@star")
    expect(offer).to_contain_text("3 followers")
    expect(offer.get_by_role("button", name="Follow")).to_be_disabled()
    expect(offer.get_by_text("Confirm your email to follow")).to_be_visible()
    screenshot(page, "lists-empty-home-unconfirmed")
    offer.get_by_role("link", name="Star Writer").click()
    expect(page).to_have_url(live.url + "/@star/")
    assert_clean(page)
