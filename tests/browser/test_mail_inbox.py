"""A staff member reads captured mail in a real browser and follows the link inside it."""

from __future__ import annotations

import pytest
from django.core.mail import EmailMultiAlternatives, send_mail
from django.test import Client
from playwright.sync_api import Page, expect
from pytest_django import Settings

from tests.browser.conftest import LiveServer, screenshot
from tests.factories import make_user

pytestmark = pytest.mark.browser


def test_staff_reads_captured_mail_and_follows_its_link(page: Page, live: LiveServer, settings: Settings) -> None:
    # Django's test setup swaps in its locmem backend; these mails must go through ours.
    settings.EMAIL_BACKEND = "mailcatcher.backends.CapturingEmailBackend"
    settings.MAIL_DELIVERY_BACKEND = ""
    staff = make_user("ops", is_staff=True)
    make_user("alice")
    make_user("bob")
    verify_link = f"{live.url}/?verify=abc123"
    send_mail(
        "Reset your password",
        f"Hi bob,\n\nSomeone asked to reset your password. If it was you, open\n"
        f"{live.url}/?reset=xyz\n\nOtherwise ignore this mail.\n",
        None,
        ["bob@example.com"],
    )
    send_mail("Weekly digest", "Nothing new this week.", None, ["nobody@example.com"])
    message = EmailMultiAlternatives(
        subject="Confirm your email address",
        body=(
            "Hi Alice,\n\nWelcome to TweetHub! Confirm your address by opening this link:\n\n"
            f"{verify_link}\n\nThe link works for 3 days. If you did not sign up, ignore this "
            "mail.\n\nTweetHub"
        ),
        to=["Alice <alice@example.com>"],
    )
    message.attach_alternative(
        f'<h1 style="color: rgb(0, 128, 0)">Welcome, Alice</h1><p><a href="{verify_link}">Confirm your address</a></p>',
        "text/html",
    )
    message.send()

    client = Client()
    client.force_login(staff)
    page.context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live.url}])

    response = page.goto(live.url + "/admin/mails/")
    assert response is not None
    assert response.status == 200
    expect(page.get_by_role("heading", level=1)).to_have_text("Captured mail")
    rows = page.locator(".mail-row")
    expect(rows).to_have_count(3)
    expect(rows.first).to_contain_text("Confirm your email address")  # newest first
    expect(rows.first).to_contain_text("@alice")
    screenshot(page, "mail-inbox")
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "mail-inbox-mobile")
    page.set_viewport_size({"width": 1280, "height": 860})

    page.get_by_role("link", name="Confirm your email address").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirm your email address")
    expect(page.locator(".mail-meta")).to_contain_text("Alice <alice@example.com>")
    screenshot(page, "mail-detail")
    page.emulate_media(color_scheme="dark")
    screenshot(page, "mail-detail-dark")
    page.emulate_media(color_scheme="light")

    # The HTML version: its link opens a new tab, outside the sandbox.
    page.get_by_text("HTML version").click()
    frame = page.frame_locator("iframe.mail-html-frame")
    expect(frame.get_by_role("heading", name="Welcome, Alice")).to_be_visible()
    # The mail's own inline styles apply (the site's policy forbids them on our pages, not in mail).
    expect(frame.get_by_role("heading", name="Welcome, Alice")).to_have_css("color", "rgb(0, 128, 0)")
    screenshot(page, "mail-detail-html")
    with page.context.expect_page() as popup_info:
        frame.get_by_role("link", name="Confirm your address").click()
    popup = popup_info.value
    popup.wait_for_load_state()
    assert popup.url == verify_link
    popup.close()

    # The plain-text link is clickable and goes where it says.
    page.locator(".mail-text").get_by_role("link", name=verify_link).click()
    expect(page).to_have_url(verify_link)

    assert page.errors.console == []  # type: ignore[attr-defined]
    assert page.errors.page == []  # type: ignore[attr-defined]


def test_a_new_visitor_sees_an_empty_inbox_not_other_peoples_mail(
    page: Page, live: LiveServer, settings: Settings
) -> None:
    settings.EMAIL_BACKEND = "mailcatcher.backends.CapturingEmailBackend"
    settings.MAIL_DELIVERY_BACKEND = ""
    victim = make_user("victim")
    send_mail("Reset your password", f"{live.url}/?reset=secret", None, [victim.email])

    response = page.goto(live.url + "/admin/mails/")

    assert response is not None
    assert response.status == 200
    expect(page.get_by_role("heading", name="No mail yet")).to_be_visible()
    expect(page.get_by_text("Reset your password")).to_have_count(0)
    screenshot(page, "mail-inbox-empty")
    assert page.errors.console == []  # type: ignore[attr-defined]
    assert page.errors.page == []  # type: ignore[attr-defined]
