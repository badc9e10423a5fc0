"""A page's live connection ends with its session (issue 17), in real chromium on a real server."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from messaging.services import message_send
from tests.browser.conftest import LiveServer, _watch, assert_clean, log_in, screenshot
from tests.factories import PASSWORD, make_user

pytestmark = pytest.mark.browser


def test_logging_out_in_one_tab_ends_the_live_connection_of_the_other(page: Page, live: LiveServer) -> None:
    ann, ben = make_user("ann", name="Ann Example"), make_user("ben", name="Ben Example")
    log_in(page, live, "ann")
    inbox = page.context.new_page()  # a second tab: same browser, same session cookie
    inbox.errors = _watch(inbox)  # type: ignore[attr-defined]
    inbox.goto(live.url + "/messages/")
    expect(inbox.locator("html")).to_have_attribute("data-live", "open")

    # The connection works: a message arrives live in the other tab.
    message_send(sender=ben, recipient=ann, text="Are you there?")
    expect(inbox.get_by_text("Are you there?")).to_be_visible()

    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_text("You are logged out.")).to_be_visible()

    # The other tab's socket is closed by the server (4401): it says so, and does not reconnect.
    expect(inbox.locator("html")).to_have_attribute("data-live", "ended")
    notice = inbox.get_by_role("status").filter(has_text="You are logged out, so this page no longer updates.")
    expect(notice).to_be_visible()
    screenshot(inbox, "live-session-ended")
    message_send(sender=ben, recipient=ann, text="Hello? Anyone?")
    inbox.wait_for_timeout(1500)  # longer than live.js's first reconnect delay
    expect(inbox.get_by_text("Hello? Anyone?")).to_have_count(0)
    expect(inbox.locator("html")).to_have_attribute("data-live", "ended")

    # Logging in again from the notice brings the person back to the page they were on.
    notice.get_by_role("link", name="Log in again").click()
    expect(inbox).to_have_url(live.url + "/accounts/login/?next=%2Fmessages%2F")
    inbox.get_by_label("Username or email").fill("ann")
    inbox.get_by_label("Password").fill(PASSWORD)
    inbox.get_by_role("button", name="Log in").click()
    expect(inbox).to_have_url(live.url + "/messages/")
    expect(inbox.get_by_text("Hello? Anyone?")).to_be_visible()
    expect(inbox.locator("html")).to_have_attribute("data-live", "open")
    assert_clean(page)
    assert_clean(inbox)
