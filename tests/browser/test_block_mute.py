"""Block and mute in real browsers: the profile buttons, what a block stops (follows both ways,
replies, messages), what a mute hides (Home), and undoing both from the Settings lists."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import Browser, Page, expect

from follows.models import Block, Follow, Mute
from follows.services import follow_create, mute_create
from tests.browser.conftest import LiveServer, _new_page, assert_clean, log_in, screenshot
from tests.factories import make_user
from tweets.models import Tweet
from tweets.reposts import repost_create
from tweets.services import tweet_create

pytestmark = pytest.mark.browser


def test_block_from_a_profile_stops_follows_replies_and_messages_then_unblock_in_settings(
    browser: Browser, page: Page, live: LiveServer
) -> None:
    ann, bob = make_user("ann", name="Ann Example"), make_user("bob", name="Bob Builder")
    follow_create(follower=ann, followee=bob)  # through the service: the profile counts come with it
    follow_create(follower=bob, followee=ann)
    tweet = Tweet.objects.create(author=ann, text="Opening hours of the library, a thread")

    # Bob has Ann's tweet and their conversation open in two tabs before she blocks him.
    bob_context, bob_tab = _new_page(browser)
    try:
        log_in(bob_tab, live, "bob")
        bob_tab.goto(f"{live.url}/tweets/{tweet.pk}/")
        bob_tab.get_by_label("Your reply to @ann").fill("@ann Is it open on Sundays?")
        dm = bob_context.new_page()
        dm.goto(f"{live.url}/messages/ann/")
        expect(dm.locator("html")).to_have_attribute("data-live", "open")

        # Ann blocks Bob from his profile.
        log_in(page, live, "ann")
        page.goto(f"{live.url}/@bob/")
        expect(page.locator("#followers-count")).to_have_text("1 follower")
        page.get_by_role("button", name="Block @bob").click()
        expect(page.get_by_text("You blocked @bob. Neither of you can follow or reply to the other.")).to_be_visible()
        expect(page.get_by_text("You blocked @bob", exact=True)).to_be_visible()
        expect(page.get_by_role("button", name="Follow", exact=True)).to_have_count(0)
        expect(page.locator("#followers-count")).to_have_text("0 followers")
        expect(page.locator("#following-count")).to_have_text("0 following")
        screenshot(page, "block-profile-blocked")
        assert not Follow.objects.exists()  # both ways

        # Bob's open tab: the reply he was typing is refused, in words, and nothing is written.
        bob_tab.get_by_role("button", name="Reply", exact=True).click()
        expect(bob_tab.get_by_role("heading", name="You cannot reply to that tweet")).to_be_visible()
        screenshot(bob_tab, "block-reply-refused")
        assert Tweet.objects.count() == 1
        # Opened again, the tweet says so instead of offering a box.
        bob_tab.goto(f"{live.url}/tweets/{tweet.pk}/")
        expect(bob_tab.get_by_label("Your reply to @ann")).to_have_count(0)
        expect(bob_tab.get_by_text("You cannot reply to @ann")).to_be_visible()

        # His message tab: refused with the same words whoever blocked whom.
        dm.get_by_label("Message", exact=True).fill("Hello?")
        dm.get_by_role("button", name="Send").click()
        expect(dm.get_by_text("You cannot send messages to @ann.")).to_be_visible()
        screenshot(dm, "block-message-refused")
        # Opened again, the conversation says so instead of offering a box.
        dm.reload()
        expect(dm.locator(".dm-note")).to_have_text("You cannot send messages to @ann.")
        expect(dm.get_by_label("Message", exact=True)).to_have_count(0)
        screenshot(dm, "block-message-page")

        # Her profile has no Follow button for him; a form sent anyway is refused and changes nothing.
        bob_tab.goto(f"{live.url}/@ann/")
        expect(bob_tab.get_by_text("@ann blocked you")).to_be_visible()
        expect(bob_tab.get_by_role("button", name="Follow", exact=True)).to_have_count(0)
        screenshot(bob_tab, "block-profile-blocked-by")
        bob_tab.evaluate(
            "() => { const form = document.querySelector('.profile-relation form');"
            " form.action = '/@ann/follow/'; form.submit(); }"
        )
        expect(bob_tab.get_by_text("You cannot follow this account.")).to_be_visible()
        expect(bob_tab.get_by_text("Nothing was changed.")).to_be_visible()
        screenshot(bob_tab, "block-follow-refused")
        assert not Follow.objects.exists()
    finally:
        bob_context.close()

    # Ann unblocks him from Settings; the follows the block removed stay removed.
    page.goto(live.url + "/settings/blocked/")
    row = page.locator(".relation-list li", has_text="@bob")
    expect(row).to_be_visible()
    screenshot(page, "block-settings-list")
    row.get_by_role("button", name="Unblock").click()
    expect(page.get_by_text("You unblocked @bob.")).to_be_visible()
    expect(page.get_by_text("You have not blocked anyone.")).to_be_visible()
    screenshot(page, "block-settings-empty")
    assert not Block.objects.exists()
    assert not Follow.objects.exists()
    assert_clean(page)


def _home_until(page: Page, live: LiveServer, *, shows: str, hides: str = "", timeout: float = 20.0) -> None:
    """Reload Home until the timeline shows `shows` and not `hides` (fan-out and clean-up are the worker's)."""
    deadline = time.monotonic() + timeout
    while True:
        page.goto(live.url + "/")
        timeline = page.locator("#timeline")
        text = timeline.inner_text() if timeline.count() else ""
        if shows in text and not (hides and hides in text):
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"Home never showed {shows!r} without {hides!r}:\n{text}")
        time.sleep(0.3)


def test_mute_hides_someone_from_home_and_unmute_in_settings_brings_them_back(
    page: Page, live_with_worker: LiveServer
) -> None:
    live = live_with_worker
    ann, bob, dan = make_user("ann", name="Ann Example"), make_user("bob", name="Bob Builder"), make_user("dan")
    Follow.objects.bulk_create([Follow(follower=dan, followee=ann), Follow(follower=dan, followee=bob)])
    Tweet.objects.create(author=ann, text="Ann: market day tomorrow")
    Tweet.objects.create(author=bob, text="Bob: yet another hot take on tabs versus spaces")

    log_in(page, live, "dan")
    _home_until(page, live, shows="tabs versus spaces")

    page.goto(f"{live.url}/@bob/")
    page.get_by_role("button", name="Mute @bob").click()
    expect(
        page.get_by_text("You muted @bob. Their tweets leave your home timeline; they are not told.")
    ).to_be_visible()
    expect(page.get_by_role("button", name="Unfollow")).to_be_visible()  # still following: a mute is quiet
    screenshot(page, "mute-profile-muted")
    _home_until(page, live, shows="market day", hides="tabs versus spaces")
    screenshot(page, "mute-home-without-bob")

    page.get_by_role("link", name="Settings").click()
    page.get_by_role("link", name="Muted accounts").click()
    row = page.locator(".relation-list li", has_text="@bob")
    screenshot(page, "mute-settings-list")
    row.get_by_role("button", name="Unmute").click()
    expect(page.get_by_text("You unmuted @bob.")).to_be_visible()
    expect(page.get_by_text("You have not muted anyone.")).to_be_visible()
    assert not Mute.objects.exists()
    _home_until(page, live, shows="tabs versus spaces")
    assert_clean(page)


def test_a_muted_persons_tweet_quoted_or_reposted_on_a_profile_is_unavailable(page: Page, live: LiveServer) -> None:
    """Outside Home too (tweets.templatetags.tweet_html, tweets.selectors.tweets_by_author): on
    Rea's profile, Vic sees Rea's quote of muted Ann's tweet as "This tweet is unavailable." and
    not Rea's repost of Ann's other tweet."""
    ann, rea, vic = make_user("ann", name="Ann Example"), make_user("rea", name="Rea Reposter"), make_user("vic")
    quoted = tweet_create(author=ann, text="Ann's quoted words")
    tweet_create(author=rea, text="Rea's comment on that", quote_of=quoted.pk)
    repost_create(user=rea, tweet_id=tweet_create(author=ann, text="Ann's reposted words").pk)
    mute_create(muter=vic, muted=ann)

    log_in(page, live, "vic")
    page.goto(f"{live.url}/@rea/")
    quote = page.locator("article", has_text="Rea's comment on that").first
    expect(quote).to_be_visible()
    expect(quote.locator(".tweet-quote-gone")).to_have_text("This tweet is unavailable.")
    expect(page.get_by_text("Ann's quoted words")).to_have_count(0)
    expect(page.get_by_text("Ann's reposted words")).to_have_count(0)
    screenshot(page, "mute-quote-unavailable")
    assert_clean(page)
