"""Likes, bookmarks and notifications in real browsers (issue 21): like and bookmark without
JavaScript-only paths (plain forms), the Likes tab and the private bookmarks page; notifications
grouped on their page with "mark all read"; the unread badges and the title count move live on
whatever page the reader is on, a direct message arriving while they are on Home included."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from follows.services import block_create, follow_create, mute_create
from messaging.services import message_send
from tests.browser.conftest import LiveServer, assert_clean, log_in, screenshot
from tests.factories import make_user
from tweets.services import like_create, tweet_create

pytestmark = pytest.mark.browser


def _live(page: Page) -> None:
    expect(page.locator("html")).to_have_attribute("data-live", "open")


def test_like_bookmark_and_the_lists(page: Page, live: LiveServer) -> None:
    ann = make_user("ann", name="Ann Example")
    make_user("bob", name="Bob Example")
    tweet = tweet_create(author=ann, text="Like this one, #please")
    tweet_create(author=ann, text="And maybe this one")
    log_in(page, live, "bob")
    page.goto(f"{live.url}/@ann/")
    card = page.locator(f"#tweet-{tweet.pk}")
    like = card.locator("button.tweet-like")
    expect(like).to_have_attribute("aria-pressed", "false")
    like.click()  # a plain form: POST, then back here
    expect(page).to_have_url(f"{live.url}/@ann/")
    like = page.locator(f"#tweet-{tweet.pk} button.tweet-like")
    expect(like).to_have_attribute("aria-pressed", "true")
    expect(like.locator(".like-count")).to_have_text("1")
    page.locator(f"#tweet-{tweet.pk} button.tweet-bookmark").click()
    expect(page.locator(f"#tweet-{tweet.pk} button.tweet-bookmark")).to_have_text("Bookmarked")
    screenshot(page, "likes-profile-liked-and-bookmarked")

    page.goto(f"{live.url}/@bob/")
    page.get_by_role("link", name="Bookmarks").click()
    expect(page).to_have_url(f"{live.url}/bookmarks/")
    expect(page.get_by_text("Like this one")).to_be_visible()
    expect(page.get_by_text("And maybe this one")).to_have_count(0)
    screenshot(page, "bookmarks-page")

    page.goto(f"{live.url}/@bob/likes/")
    expect(page.get_by_role("link", name="Likes")).to_have_attribute("aria-current", "page")
    expect(page.get_by_text("Like this one")).to_be_visible()
    screenshot(page, "likes-tab")

    # Unlike from the Likes tab: the count goes back to 0 and the tweet leaves the list.
    page.locator(f"#tweet-{tweet.pk} button.tweet-like").click()
    page.goto(f"{live.url}/@bob/likes/")
    expect(page.get_by_text("has not liked any tweets yet")).to_be_visible()
    assert_clean(page)


def test_notifications_group_and_badges_move_live(page: Page, other_page: Page, live_with_worker: LiveServer) -> None:
    live = live_with_worker
    ann = make_user("ann", name="Ann Example")
    fans = [make_user(f"fan{n}", name=f"Fan {n}") for n in range(4)]
    tweet = tweet_create(author=ann, text="Something worth liking")
    log_in(page, live, "ann")
    page.goto(f"{live.url}/")
    _live(page)
    expect(page).to_have_title("Home · TweetHub")
    badge = page.locator('.nav-badge[data-badge="notifications"]')
    expect(badge).to_be_hidden()

    # While Ann is on Home: four likes and a follow arrive (through the outbox and the worker).
    for fan in fans:
        like_create(user=fan, tweet_id=tweet.pk)
    follow_create(follower=fans[0], followee=ann)
    expect(badge).to_have_text("22 unread")  # shown "2", read out "2 unread": the likes, the follow
    expect(badge.locator('[aria-hidden="true"]')).to_have_text("2")
    expect(page).to_have_title("(2) Home · TweetHub")

    # A direct message while she is still on Home: the messages badge moves too.
    message_send(sender=fans[1], recipient=ann, text="psst")
    messages_badge = page.locator('.nav-badge[data-badge="messages"]')
    expect(messages_badge.locator('[aria-hidden="true"]')).to_have_text("1")
    expect(page).to_have_title("(3) Home · TweetHub")
    screenshot(page, "badges-on-home", full_page=False)

    page.locator("#nav-list a", has_text="Notifications").click()
    expect(page).to_have_url(f"{live.url}/notifications/")
    expect(page.get_by_text("Fan 3 and 3 others liked your tweet")).to_be_visible()
    expect(page.get_by_text("Fan 0 followed you")).to_be_visible()
    expect(page.get_by_text("sent you a direct message")).to_be_visible()
    expect(page.locator(".notification-unread")).to_have_count(3)
    screenshot(page, "notifications-page")

    page.get_by_role("button", name="Mark all read").click()
    expect(page.get_by_text("All caught up.")).to_be_visible()
    expect(page.locator(".notification-unread")).to_have_count(0)
    expect(page.locator('.nav-badge[data-badge="notifications"]')).to_be_hidden()
    # The unread conversation still counts until it is read.
    expect(page).to_have_title("(1) Notifications · TweetHub")
    screenshot(page, "notifications-read")

    # Ann's other browser waits on Home; reading the conversation here lowers its badge there.
    log_in(other_page, live, "ann")
    other_page.goto(f"{live.url}/")
    _live(other_page)
    other_badge = other_page.locator('.nav-badge[data-badge="messages"]')
    expect(other_badge.locator('[aria-hidden="true"]')).to_have_text("1")
    page.goto(f"{live.url}/messages/fan1/")
    expect(page.get_by_text("psst")).to_be_visible()
    expect(page.locator('.nav-badge[data-badge="messages"]')).to_be_hidden()
    expect(other_badge).to_be_hidden()
    expect(other_page).to_have_title("Home · TweetHub")
    assert_clean(page)
    assert_clean(other_page)


def test_a_reply_notifies_and_a_block_stops_likes(page: Page, other_page: Page, live_with_worker: LiveServer) -> None:
    """A reply is a notification of its own (with the reply's text); a muted account's like tells
    nothing; a like across a block is a 404 page and changes nothing; a profile has three tabs."""
    live = live_with_worker
    ann = make_user("ann", name="Ann Example")
    bob = make_user("bob", name="Bob Example")
    dan = make_user("dan", name="Dan Muted")
    eve = make_user("eve", name="Eve Blocked")
    tweet = tweet_create(author=ann, text="Who has read the issue?")
    mute_create(muter=ann, muted=dan)
    block_create(blocker=ann, blocked=eve)
    like_create(user=dan, tweet_id=tweet.pk)
    tweet_create(author=bob, text="I have, @ann: it is long but clear.", in_reply_to=tweet.pk)

    # Eve, whom Ann blocked, can read the public tweet page, but her like is refused.
    log_in(other_page, live, "eve")
    other_page.goto(f"{live.url}/tweets/{tweet.pk}/")
    other_page.locator(f"#tweet-{tweet.pk} button.tweet-like").click()
    expect(other_page.get_by_role("heading", level=1)).to_have_text("We could not find that page")
    screenshot(other_page, "like-across-a-block")
    other_page.goto(f"{live.url}/tweets/{tweet.pk}/")
    expect(other_page.locator(f"#tweet-{tweet.pk} button.tweet-like .like-count")).to_have_text("1")  # Dan's

    log_in(page, live, "ann")
    page.goto(f"{live.url}/notifications/")
    row = page.locator(".notification", has_text="replied to your tweet")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Bob Example")
    expect(row).to_contain_text("it is long but clear")
    expect(page.locator(".notification")).to_have_count(1)  # no mention too, nothing from Dan
    expect(page).to_have_title("(1) Notifications · TweetHub")
    screenshot(page, "notifications-reply")

    page.goto(f"{live.url}/@bob/?tab=replies")
    tabs = page.get_by_role("navigation", name="Which tweets")
    expect(tabs.get_by_role("link")).to_have_text(["Tweets", "Tweets & replies", "Likes"])
    expect(tabs.get_by_role("link", name="Tweets & replies")).to_have_attribute("aria-current", "page")
    expect(page.get_by_text("it is long but clear")).to_be_visible()
    screenshot(page, "profile-tabs-replies")
    assert_clean(page)
