"""Tweeting in a real browser against the real server: compose, read, tag, pin, delete, mistakes."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from accounts.models import User
from tests.browser.conftest import LiveServer, assert_clean, log_in, screenshot
from tests.factories import make_user
from tweets import trends
from tweets.models import Tweet
from tweets.parsing import hashtags

pytestmark = pytest.mark.browser

TEXT = "Trying #TweetHub with @bob, docs at https://example.com/docs?a=1&b=2."
SHOWN = TEXT.replace("https://", "")  # links are shown without their scheme


def test_compose_read_tag_pin_and_delete_a_tweet(page: Page, live: LiveServer) -> None:
    make_user("ann", name="Ann Example")
    make_user("bob", name="Bob Builder")
    log_in(page, live, "ann")

    # Compose from the home page.
    page.get_by_label("What is happening?").fill(TEXT)
    page.get_by_role("button", name="Tweet", exact=True).click()
    expect(page.get_by_text("Your tweet is posted.")).to_be_visible()
    tweet = page.locator("article.tweet").first
    expect(tweet.locator(".tweet-text")).to_have_text(SHOWN)
    expect(tweet.get_by_role("link", name="#TweetHub")).to_have_attribute("href", "/tags/tweethub/")
    expect(tweet.get_by_role("link", name="@bob")).to_have_attribute("href", "/@bob/")
    link = tweet.get_by_role("link", name="example.com/docs?a=1&b=2")
    expect(link).to_have_attribute("href", "https://example.com/docs?a=1&b=2")
    # The tag trends at once (counted on commit, no worker needed).
    expect(page.get_by_role("complementary", name="Trending").get_by_role("link", name="#tweethub")).to_be_visible()
    screenshot(page, "tweets-home-posted")
    saved = Tweet.objects.get()
    assert (saved.text, saved.tags, saved.mentions) == (TEXT, ["tweethub"], ["bob"])

    # The tweet's own page.
    tweet.get_by_role("link", name=re.compile(r"^Open tweet, posted")).click()
    expect(page).to_have_url(f"{live.url}/tweets/{saved.pk}/")
    expect(page).to_have_title(re.compile(r"^Ann Example on TweetHub: “Trying #TweetHub"))
    expect(page.locator(".tweet-detail .tweet-text")).to_have_text(SHOWN)
    screenshot(page, "tweets-detail")

    # Its tag, case-insensitively.
    page.locator(".tweet-detail").get_by_role("link", name="#TweetHub").click()
    expect(page).to_have_url(live.url + "/tags/tweethub/")
    expect(page).to_have_title("#tweethub · TweetHub")
    expect(page.get_by_role("heading", level=1)).to_contain_text("tweethub")
    expect(page.locator("article.tweet")).to_have_count(1)
    screenshot(page, "tweets-tag")
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "tweets-tag-mobile")
    page.set_viewport_size({"width": 1280, "height": 860})

    # Pin it: the profile shows it first, labelled.
    make_older = Tweet.objects.create(author=User.objects.get(username="ann"), text="An older, unpinned tweet")
    page.get_by_role("button", name="Pin to profile").click()
    expect(page).to_have_url(live.url + "/@ann/")
    expect(page.get_by_text("Pinned to your profile.")).to_be_visible()
    first = page.locator("article.tweet").first
    expect(first).to_contain_text("Pinned")
    expect(first.locator(".tweet-text")).to_have_text(SHOWN)
    expect(page.locator("article.tweet")).to_have_count(2)
    screenshot(page, "tweets-profile-pinned")
    saved.refresh_from_db()
    assert saved.pinned

    # Delete it from its page, after the question (confirm(), as in lists): gone, and its page is a 404.
    page.goto(f"{live.url}/tweets/{saved.pk}/")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete").click()
    expect(page.get_by_text("Your tweet is deleted.")).to_be_visible()
    expect(page).to_have_url(live.url + "/@ann/")
    expect(page.locator("article.tweet")).to_have_count(1)
    expect(page.locator("article.tweet .tweet-text")).to_have_text(make_older.text)
    response = page.goto(f"{live.url}/tweets/{saved.pk}/")
    assert response is not None
    assert response.status == 404
    expect(page.get_by_role("heading", name="We could not find that page")).to_be_visible()
    assert not Tweet.objects.filter(pk=saved.pk).exists()
    assert_clean(page)


def test_empty_and_over_long_tweets_are_explained_and_the_text_kept(page: Page, live: LiveServer) -> None:
    make_user("cat", name="Cat Writer")
    log_in(page, live, "cat")

    page.get_by_role("button", name="Tweet", exact=True).click()
    expect(page.get_by_text("Write something first.")).to_be_visible()
    box = page.get_by_label("What is happening?")
    expect(box).to_have_attribute("aria-invalid", "true")
    screenshot(page, "tweets-compose-empty")

    # The live counter (static/js/compose.js) counts as the server does, and past the limit the
    # button waits (the server's own message is in test_tweeting_works_without_javascript).
    too_long = ("An essay. " * 28)[:-1] + "!!"  # 281 characters
    box.fill(too_long)
    expect(page.locator(".compose-counter")).to_have_text("1 too many")
    expect(page.get_by_role("button", name="Tweet", exact=True)).to_be_disabled()
    screenshot(page, "tweets-compose-too-long")

    # Shortened, it goes through, and no refused attempt left a row behind.
    page.get_by_label("What is happening?").fill(too_long[:-1])
    expect(page.locator(".compose-counter")).to_have_text("0 left")
    page.get_by_role("button", name="Tweet", exact=True).click()
    expect(page.get_by_text("Your tweet is posted.")).to_be_visible()
    assert Tweet.objects.count() == 1
    assert_clean(page)


def test_tweeting_works_without_javascript(browser: Browser, live: LiveServer) -> None:
    make_user("dan", name="Dan No-JS")
    context = browser.new_context(java_script_enabled=False, viewport={"width": 1280, "height": 860})
    try:
        page = context.new_page()
        log_in(page, live, "dan")
        page.get_by_role("button", name="Tweet", exact=True).click()
        expect(page.get_by_text("Write something first.")).to_be_visible()
        expect(page.locator(".compose-counter")).to_have_count(0)
        expect(page.get_by_text("Up to 280 characters.")).to_be_visible()
        # Without the counter the server says what is wrong, and keeps the text.
        too_long = "x" * 281
        page.get_by_label("What is happening?").fill(too_long)
        page.get_by_role("button", name="Tweet", exact=True).click()
        expect(page.get_by_text("Tweets are at most 280 characters (this one has 281).")).to_be_visible()
        expect(page.get_by_label("What is happening?")).to_have_value(too_long)
        page.get_by_label("What is happening?").fill("No scripts needed #plain")
        page.get_by_role("button", name="Tweet", exact=True).click()
        expect(page.get_by_text("Your tweet is posted.")).to_be_visible()
        assert Tweet.objects.get().tags == ["plain"]
    finally:
        context.close()


def test_the_trending_page_and_dark_mode(page: Page, live: LiveServer) -> None:
    eve = make_user("eve", name="Eve Trendsetter")
    for text in ("#Django tips", "#Django and #Python", "#Python, #Café and #Django", "#日本語 #Django"):
        tweet = Tweet.objects.create(author=eve, text=text, tags=hashtags(text))
        trends.record(tweet.tags)
    log_in(page, live, "eve")
    page.get_by_role("link", name="See all trends").click()
    expect(page).to_have_url(live.url + "/trending/")
    expect(page.locator(".trend-name")).to_have_text(["#django", "#python", "#café", "#日本語"])
    screenshot(page, "tweets-trending")
    page.emulate_media(color_scheme="dark")
    page.goto(live.url + "/")
    expect(page.locator("article.tweet")).to_have_count(4)
    screenshot(page, "tweets-home-dark")
    page.goto(live.url + "/tags/django/")
    screenshot(page, "tweets-tag-dark")
    assert_clean(page)
