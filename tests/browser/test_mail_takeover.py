"""The shared-browser takeover of issue 17, item 5, tried in chromium: after alice logs out, the next
person on her browser asks for a password reset for her address and looks for the link in the
captured-mail inbox. The mail is sent, and the browser never gets to read it."""

from __future__ import annotations

import re
import time

import pytest
from django.core.mail import send_mail
from playwright.sync_api import Page, expect

from mailcatcher.models import CapturedMail
from tests.browser.conftest import LiveServer, log_in, screenshot
from tests.factories import PASSWORD, make_user

pytestmark = pytest.mark.browser

RESET_LINK = re.compile(r"/accounts/password/reset/[^/\s\"]+/[^/\s\"]+/")


def _reset_mail(address: str, timeout: float = 20.0) -> CapturedMail:
    """The reset mail for `address`, once it is captured (a worker may send it)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = CapturedMail.objects.filter(to=[address], subject="Reset your TweetHub password").first()
        if found is not None:
            return found
        time.sleep(0.1)
    raise AssertionError(f"no reset mail for {address} within {timeout} s")


def test_the_next_visitor_cannot_read_a_reset_link_for_the_account_used_before_them(
    page: Page, live_with_worker: LiveServer
) -> None:
    live = live_with_worker
    alice = make_user("alice", name="Alice")
    send_mail("Welcome to TweetHub", "Hello Alice, welcome.", None, [alice.email])

    # Alice reads her own mail while logged in, then logs out.
    log_in(page, live, "alice")
    page.goto(live.url + "/admin/mails/")
    expect(page.locator(".mail-row")).to_have_count(1)
    expect(page.get_by_role("link", name="Welcome to TweetHub")).to_be_visible()
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("link", name="Log in")).to_be_visible()

    # The next person on this browser: her mail is gone from the inbox at once.
    page.goto(live.url + "/admin/mails/")
    expect(page.get_by_role("heading", name="No mail yet")).to_be_visible()

    # They ask for a reset of alice's account: the site says what it says to anyone.
    page.goto(live.url + "/accounts/password/reset/")
    page.get_by_role("textbox", name="Email").fill(alice.email)
    page.get_by_role("button", name="Send the link", exact=True).click()
    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()
    reset = _reset_mail(alice.email)
    assert RESET_LINK.search(reset.text_body)  # the mail really holds a working link...

    # ...which this browser cannot reach: not in the list, not by its id, not by its HTML.
    for path in ("/admin/mails/", "/admin/mails/?to=alice"):
        page.goto(live.url + path)
        expect(page.get_by_role("heading", name="No mail yet")).to_be_visible()
        expect(page.get_by_text("Reset your TweetHub password")).to_have_count(0)
        assert not RESET_LINK.search(page.content())
    screenshot(page, "mail-takeover-refused")
    for path in (f"/admin/mails/{reset.pk}/", f"/admin/mails/{reset.pk}/html/"):
        response = page.goto(live.url + path)
        assert response is not None
        assert response.status == 404
        assert not RESET_LINK.search(page.content())

    alice.refresh_from_db()
    assert alice.check_password(PASSWORD)
    # The 404 pages above are the point; nothing else may fail or log an error.
    assert page.errors.console == []  # type: ignore[attr-defined]
    assert page.errors.page == []  # type: ignore[attr-defined]
