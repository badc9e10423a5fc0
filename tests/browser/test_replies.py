"""Replies and threads in a real browser: the reply box, the thread page (ancestors above, replies
below, paged), deleted tweets in a conversation, the profile's "Tweets & replies" tab."""

from __future__ import annotations

import pytest
from django.db.models import F
from playwright.sync_api import Page, expect

from accounts.models import User
from tests.browser.conftest import LiveServer, assert_clean, log_in, screenshot
from tests.factories import make_user
from tweets.models import Tweet
from tweets.services import tweet_delete

pytestmark = pytest.mark.browser


def _reply(author: User, parent: Tweet, text: str) -> Tweet:
    """A reply written straight to the database, as tweet_create would store it (setup must not
    depend on the code under test)."""
    reply = Tweet.objects.create(
        author=author,
        text=text,
        in_reply_to=parent.pk,
        conversation_root=parent.conversation_root or parent.pk,
        reply_to_author_id=parent.author_id,
    )
    Tweet.objects.filter(pk=parent.pk).update(reply_count=F("reply_count") + 1)
    return reply


def _card(page: Page, text: str):  # type: ignore[no-untyped-def]
    return page.locator("article.tweet", has_text=text)


def test_reply_from_the_tweet_page_then_see_it_counted_and_its_ancestors(page: Page, live: LiveServer) -> None:
    ann = make_user("ann", name="Ann Example")
    make_user("bob", name="Bob Builder")
    question = Tweet.objects.create(author=ann, text="Who else is going to the harbour fair on Saturday?")
    log_in(page, live, "bob")

    page.goto(f"{live.url}/tweets/{question.pk}/")
    expect(page.get_by_text("No replies yet.")).to_be_visible()
    box = page.get_by_label("Your reply to @ann")
    expect(box).to_have_value("@ann ")  # the box starts with the person answered
    screenshot(page, "replies-tweet-page-empty")
    box.fill("@ann Count me in, I will bring the kites.")
    page.get_by_role("button", name="Reply", exact=True).click()

    # The reply's own page: posted, with the question above it as the conversation so far.
    expect(page.get_by_text("Your reply is posted.")).to_be_visible()
    reply = Tweet.objects.get(author__username="bob")
    assert (reply.in_reply_to, reply.conversation_root, reply.reply_to_author_id) == (question.pk, question.pk, ann.pk)
    expect(page).to_have_url(f"{live.url}/tweets/{reply.pk}/")
    ancestors = page.get_by_role("list", name="Earlier in this conversation")
    expect(ancestors.locator("article.tweet")).to_have_count(1)
    expect(ancestors).to_contain_text("harbour fair")
    expect(page.locator(".tweet-single")).to_contain_text("Replying to @ann")
    # Continuing one's own thread: the box does not start with one's own name.
    expect(page.get_by_label("Your reply to @bob")).to_have_value("")
    screenshot(page, "replies-reply-page-with-ancestor")

    # Back on the question: the reply under it, and its card counts one reply.
    ancestors.get_by_role("link", name="Open tweet").click()
    expect(page).to_have_url(f"{live.url}/tweets/{question.pk}/")
    replies = page.locator("#replies")
    expect(replies.locator("article.tweet")).to_have_count(1)
    expect(replies).to_contain_text("bring the kites")
    expect(page.locator(".tweet-single .tweet-reply-count")).to_have_text("1")
    screenshot(page, "replies-tweet-page-one-reply")

    # The count is on the card in lists too (Ann's profile).
    page.goto(f"{live.url}/@ann/")
    expect(_card(page, "harbour fair").locator(".tweet-reply-count")).to_have_text("1")
    assert_clean(page)


def test_show_more_replies_pages_oldest_first(page: Page, live: LiveServer) -> None:
    ann, bob = make_user("ann", name="Ann Example"), make_user("bob", name="Bob Builder")
    poll = Tweet.objects.create(author=ann, text="Name your favourite lighthouse")
    for n in range(1, 23):  # REPLIES_PAGE_SIZE is 20: a second page of two
        _reply(bob if n % 2 else ann, poll, f"Lighthouse number {n:02d}")

    page.goto(f"{live.url}/tweets/{poll.pk}/")
    replies = page.locator("#replies article.tweet")
    expect(replies).to_have_count(20)
    expect(replies.first).to_contain_text("Lighthouse number 01")
    expect(replies.last).to_contain_text("Lighthouse number 20")
    expect(page.locator(".tweet-single .tweet-reply-count")).to_have_text("22")
    expect(page.get_by_role("link", name="Log in to reply")).to_be_visible()  # visitors read, members reply
    screenshot(page, "replies-first-page")

    page.get_by_role("link", name="Show more replies").click()
    expect(page.get_by_role("heading", name="More replies")).to_be_visible()
    expect(replies).to_have_count(2)
    expect(replies.first).to_contain_text("Lighthouse number 21")
    expect(replies.last).to_contain_text("Lighthouse number 22")
    expect(page.get_by_role("link", name="Show more replies")).to_have_count(0)
    screenshot(page, "replies-second-page")
    assert_clean(page)


def test_replying_to_a_tweet_deleted_meanwhile_says_so_and_writes_nothing(page: Page, live: LiveServer) -> None:
    ann = make_user("ann", name="Ann Example")
    make_user("bob", name="Bob Builder")
    doomed = Tweet.objects.create(author=ann, text="A hot take I will regret")
    log_in(page, live, "bob")
    page.goto(f"{live.url}/tweets/{doomed.pk}/")
    page.get_by_label("Your reply to @ann").fill("@ann Bold of you.")

    tweet_delete(tweet_id=doomed.pk, user=ann)  # while Bob is typing
    page.get_by_role("button", name="Reply", exact=True).click()

    expect(page.get_by_role("alert")).to_have_text("That tweet was deleted, so it cannot be answered any more.")
    expect(page.locator(".tweet-deleted-main")).to_have_text("This tweet was deleted.")
    expect(page.locator(".reply-unsent-text")).to_have_text("@ann Bold of you.")  # what Bob wrote is kept
    screenshot(page, "replies-refused-deleted-parent")
    assert not Tweet.objects.exists()


def test_a_deleted_tweet_keeps_its_replies_readable(page: Page, live: LiveServer) -> None:
    ann, bob, cat = make_user("ann", name="Ann Example"), make_user("bob"), make_user("cat", name="Cat Example")
    opener = Tweet.objects.create(author=ann, text="Opening the thread on sourdough")
    first = _reply(bob, opener, "@ann Mine never rises, any tips?")
    second = _reply(cat, first, "@bob Warmer water, longer proof.")
    tweet_delete(tweet_id=first.pk, user=bob)

    # The deleted tweet's page: a placeholder, and the replies it had.
    page.goto(f"{live.url}/tweets/{first.pk}/")
    expect(page.locator(".tweet-deleted-main")).to_have_text("This tweet was deleted.")
    expect(page.locator("#replies article.tweet")).to_have_count(1)
    expect(page.locator("#replies")).to_contain_text("Warmer water")
    screenshot(page, "replies-deleted-tweet-placeholder")

    # The reply's page: the conversation above it, the deleted tweet as a placeholder in it.
    page.goto(f"{live.url}/tweets/{second.pk}/")
    ancestors = page.get_by_role("list", name="Earlier in this conversation")
    expect(ancestors.locator("li")).to_have_count(2)
    expect(ancestors.locator("li").first).to_contain_text("sourdough")
    expect(ancestors.locator("li").last).to_have_text("This tweet was deleted.")
    screenshot(page, "replies-ancestors-with-deleted")
    assert_clean(page)


def test_profile_tabs_split_tweets_from_replies(page: Page, live: LiveServer) -> None:
    ann, bob = make_user("ann", name="Ann Example"), make_user("bob", name="Bob Builder")
    news = Tweet.objects.create(author=ann, text="Ferry timetable changes next week")
    own = Tweet.objects.create(author=bob, text="Bob's own news: new workshop open")
    _reply(bob, news, "@ann Thanks, that saves my Monday.")
    _reply(bob, own, "Opening hours: nine to five, closed on Mondays.")  # a self-thread

    page.goto(f"{live.url}/@bob/")
    tabs = page.get_by_role("navigation", name="Which tweets")
    expect(tabs.get_by_role("link", name="Tweets", exact=True)).to_have_attribute("aria-current", "page")
    expect(page.locator(".profile-tweets article.tweet")).to_have_count(2)
    expect(page.get_by_text("new workshop open")).to_be_visible()
    # One's own thread names nobody: no "Replying to @bob", only the way to the thread.
    continued = _card(page, "Opening hours")
    expect(continued.get_by_role("link", name="Show this thread")).to_be_visible()
    expect(continued).not_to_contain_text("Replying to")
    screenshot(page, "replies-profile-tweets-tab")

    tabs.get_by_role("link", name="Tweets & replies").click()
    expect(tabs.get_by_role("link", name="Tweets & replies")).to_have_attribute("aria-current", "page")
    expect(page.locator(".profile-tweets article.tweet")).to_have_count(3)
    reply = _card(page, "saves my Monday")
    expect(reply).to_contain_text("Replying to @ann")
    screenshot(page, "replies-profile-replies-tab")
    reply.get_by_role("link", name="Show this thread").click()
    expect(page).to_have_url(f"{live.url}/tweets/{news.pk}/")
    assert_clean(page)
