"""The search page in a real browser: tweets by words and tags, paging, hostile input."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Dialog, Page, expect

from tests.browser.conftest import LiveServer, assert_clean, screenshot
from tests.factories import make_user
from tweets.services import tweet_create

pytestmark = pytest.mark.browser


def test_search_tweets_by_words_and_tags_and_page_back(page: Page, live: LiveServer) -> None:
    gryphon = make_user("gryphon", name="The Gryphon", bio="Tells the Mock Turtle's story.")
    turtle = make_user("mockturtle", name="Mock Turtle", bio="Once I was a real Turtle.")
    make_user("turtledove", name="Turtle Dove")
    for n in range(23):
        tweet_create(author=turtle if n % 2 else gryphon, text=f"Lesson {n}: reeling and writhing #school")
    tweet_create(author=turtle, text="Beautiful soup, so rich and green! #soup")

    page.goto(live.url + "/search/?q=turtle")
    people = page.locator(".people-list .person-handle")
    # A username starting with the query ranks above a word in a display name; bios are not searched.
    expect(people).to_have_text(["@turtledove", "@mockturtle"])
    expect(page.get_by_role("heading", name="Tweets")).to_be_visible()
    expect(page.get_by_text("No tweets match “turtle”.")).to_be_visible()
    screenshot(page, "search-people-no-tweets")

    page.get_by_label("Search people and tweets").fill("#school")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_text("No people match “#school”.")).to_be_visible()
    # The live server uses the default page size (20): 23 tweets make two pages.
    expect(page.locator(".tweet-list > li")).to_have_count(20)
    expect(page.locator(".tweet-list .tweet-text").first).to_have_text("Lesson 22: reeling and writhing #school")
    screenshot(page, "search-tweets")
    page.get_by_role("link", name="Older tweets").click()
    expect(page).to_have_url(re.compile(r"/search/\?q=%23school&before=\d+$"))
    expect(page.locator(".tweet-list > li")).to_have_count(3)
    expect(page.get_by_role("heading", name="People")).to_have_count(0)
    expect(page.get_by_label("Search people and tweets")).to_have_value("#school")
    expect(page.get_by_role("link", name="Older tweets")).to_have_count(0)

    # A word that appears only as a #tag is found by the plain word too.
    page.goto(live.url + "/search/?q=soup")
    expect(page.locator(".tweet-list .tweet-text")).to_have_text(["Beautiful soup, so rich and green! #soup"])
    assert_clean(page)


def test_hostile_queries_are_shown_as_text(page: Page, live: LiveServer) -> None:
    make_user("alice", name="Alice")
    dialogs: list[str] = []

    def on_dialog(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    for query in ['<script>alert("q")</script>', '"><img src=x onerror=alert(1)>', "'; drop table accounts_user; --"]:
        page.goto(live.url + "/search/")
        page.get_by_label("Search people and tweets").fill(query)
        page.get_by_role("button", name="Search").click()
        expect(page.get_by_label("Search people and tweets")).to_have_value(query)
        expect(page.get_by_text(f"No people match “{query}”.")).to_be_visible()
    screenshot(page, "search-hostile")
    page.goto(live.url + "/search/?q=" + "x" * 10_000)
    expect(page.get_by_label("Search people and tweets")).to_have_value("x" * 100)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(live.url + "/search/?q=alice")
    screenshot(page, "search-mobile")
    assert dialogs == []
    assert_clean(page)
