"""Direct messages in real browsers: two people talk live, a third sees none of it."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Page, expect

from messaging.models import Conversation
from messaging.services import message_send
from tests.browser.conftest import LiveServer, _new_page, assert_clean, log_in, screenshot
from tests.factories import make_user

pytestmark = pytest.mark.browser


def _log_in(page: Page, live: LiveServer, username: str) -> None:
    """Log in, then let the landing page finish loading: leaving it at once would cancel its image
    requests, which assert_clean rightly counts as failed resources."""
    log_in(page, live, username)
    page.wait_for_load_state("load")


def _settled(page: Page) -> None:
    """Let arrival animations finish, so screenshots show the page as people see it."""
    page.evaluate("Promise.all(document.getAnimations().map((animation) => animation.finished))")


def _live(page: Page) -> None:
    """Wait until the page's websocket is open (static/js/live.js marks it on <html>)."""
    expect(page.locator("html")).to_have_attribute("data-live", "open")


def test_two_people_message_each_other_live_and_a_third_gets_404(
    browser: Browser, page: Page, other_page: Page, live: LiveServer
) -> None:
    make_user("ann", name="Ann Example")
    make_user("ben", name="Ben Example")
    make_user("cat", name="Cat Example")
    ann, ben = page, other_page

    # Ben waits in his (empty) inbox.
    _log_in(ben, live, "ben")
    ben.get_by_role("link", name="Messages", exact=True).click()
    expect(ben.get_by_text("No messages yet")).to_be_visible()
    _live(ben)
    screenshot(ben, "messages-inbox-empty")

    # Ann starts a conversation from her inbox and sends a message.
    _log_in(ann, live, "ann")
    ann.get_by_role("link", name="Messages", exact=True).click()
    ann.get_by_label("Username to message").fill("@ben")
    ann.get_by_role("button", name="New message").click()
    expect(ann).to_have_url(live.url + "/messages/ben/")
    expect(ann.get_by_role("heading", name="Ben Example")).to_be_visible()
    _live(ann)
    ann.get_by_label("Message", exact=True).fill("Hi Ben! Lunch at <noon>?")
    ann.get_by_role("button", name="Send").click()
    mine = ann.locator(".dm-mine").filter(has_text="Hi Ben! Lunch at <noon>?")
    expect(mine).to_be_visible()
    expect(ann.get_by_label("Message", exact=True)).to_have_value("")

    # Ben's inbox updates by itself: Ann, her message, one unread.
    row = ben.locator(".dm-row").filter(has_text="Ann Example")
    expect(row).to_contain_text("Hi Ben! Lunch at <noon>?")
    expect(row.locator(".dm-unread")).to_have_text("1 unread")
    screenshot(ben, "messages-inbox-unread")

    # Ben opens the conversation; it is read now.
    row.click()
    expect(ben).to_have_url(live.url + "/messages/ann/")
    expect(ben.locator(".dm-theirs").filter(has_text="Hi Ben! Lunch at <noon>?")).to_be_visible()
    _live(ben)
    ben.evaluate("window.__stillTheSamePage = true")

    # Ann writes again (Enter sends); Ben sees it arrive without a reload.
    ann.get_by_label("Message", exact=True).fill("I found a new place")
    ann.get_by_label("Message", exact=True).press("Enter")
    expect(ben.locator(".dm-theirs").filter(has_text="I found a new place")).to_be_visible()
    assert ben.evaluate("window.__stillTheSamePage") is True

    # Ben answers on two lines (Shift+Enter); Ann sees it live.
    box = ben.get_by_label("Message", exact=True)
    box.fill("Sounds good.")
    box.press("Shift+Enter")
    box.press_sequentially("See you there")
    ben.get_by_role("button", name="Send").click()
    expect(ann.locator(".dm-theirs").filter(has_text="See you there")).to_be_visible()
    expect(ben.locator(".dm-mine").filter(has_text="Sounds good.\nSee you there")).to_be_visible()
    _settled(ann)
    _settled(ben)
    screenshot(ann, "messages-conversation-ann")
    screenshot(ben, "messages-conversation-ben")

    # Both sides read everything: Ben's inbox has no unread badge.
    ben.get_by_role("link", name="All messages").click()
    expect(ben.locator(".dm-row").filter(has_text="Ann Example")).to_contain_text("You: Sounds good.")
    expect(ben.locator(".dm-unread")).to_have_count(0)
    screenshot(ben, "messages-inbox-read")

    conversation = Conversation.objects.get()
    cat_context, cat = _new_page(browser)
    try:
        _log_in(cat, live, "cat")
        response = cat.goto(f"{live.url}/messages/c/{conversation.pk}/")
        assert response is not None
        assert response.status == 404
        expect(cat.get_by_role("heading", name="We could not find that page")).to_be_visible()
        screenshot(cat, "messages-third-person-404")
        # Cat's own conversation with Ben is hers alone, and empty.
        cat.goto(f"{live.url}/messages/ben/")
        expect(cat.get_by_text("No messages yet. Say hello to @ben.")).to_be_visible()
        expect(cat.get_by_text("Lunch")).to_have_count(0)
        assert_clean(cat)
    finally:
        cat_context.close()

    # The participants' permalink leads each to their side.
    ann.goto(f"{live.url}/messages/c/{conversation.pk}/")
    expect(ann).to_have_url(live.url + "/messages/ben/")
    assert_clean(ann)
    assert_clean(ben)


def test_refusal_and_errors_are_explained_in_words(page: Page, live: LiveServer) -> None:
    make_user("ann")
    make_user("picky", name="Picky Person", dm_policy="following")
    _log_in(page, live, "ann")

    page.goto(live.url + "/messages/picky/")
    expect(page.get_by_text("@picky only accepts messages from people they follow.")).to_be_visible()
    expect(page.get_by_text("No messages yet.", exact=True)).to_be_visible()
    expect(page.get_by_label("Message", exact=True)).to_have_count(0)
    screenshot(page, "messages-refused")

    make_user("ben")
    page.goto(live.url + "/messages/ben/")
    _live(page)
    page.get_by_label("Message", exact=True).fill("x" * 1001)
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_text("Messages are at most 1000 characters (this one has 1001).")).to_be_visible()
    expect(page.get_by_label("Message", exact=True)).to_have_value("x" * 1001)
    screenshot(page, "messages-too-long")
    assert_clean(page)


def test_a_long_conversation_opens_at_its_newest_message_on_a_phone(
    page: Page, live: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("messaging.services.MESSAGE_RATE_LIMIT", "1000/1m")  # setup sends many
    ann, ben = make_user("ann", name="Ann Example"), make_user("ben", name="Ben Example")
    for n in range(60):
        sender, recipient = (ann, ben) if n % 3 else (ben, ann)
        text = f"Message {n}: " + ("a longer line that wraps on a narrow screen " if n % 4 == 0 else "short")
        message_send(sender=sender, recipient=recipient, text=text)

    page.set_viewport_size({"width": 390, "height": 844})
    _log_in(page, live, "ann")
    page.goto(live.url + "/messages/ben/")
    newest = page.locator(".dm-message").filter(has_text="Message 59:")
    expect(newest).to_be_in_viewport()
    expect(page.locator(".dm-message").filter(has_text="Message 10:")).to_have_count(1)
    expect(page.get_by_role("link", name="Older messages")).to_be_attached()
    screenshot(page, "messages-long-phone", full_page=False)
    page.emulate_media(color_scheme="dark")
    screenshot(page, "messages-long-phone-dark", full_page=False)
    page.emulate_media(color_scheme="light")

    page.get_by_role("link", name="Older messages").click()
    expect(page.locator(".dm-message").filter(has_text="Message 9:")).to_be_visible()
    expect(page.locator(".dm-message")).to_have_count(10)
    expect(page.get_by_role("link", name="Newest messages")).to_be_visible()
    assert_clean(page)
