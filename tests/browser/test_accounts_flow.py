"""The sign-up flow a newcomer goes through, in a real browser against the real server."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import Page, expect

from accounts.models import User
from mailcatcher.models import CapturedMail
from tests.browser.conftest import LiveServer, assert_clean, screenshot
from tests.factories import PASSWORD, make_user

pytestmark = pytest.mark.browser

PASSPHRASE = "a-long-and-unusual-passphrase"


def _sign_up(page: Page, live: LiveServer, *, username: str, email: str) -> None:
    page.goto(live.url + "/accounts/signup/")
    page.get_by_label("Display name").fill("Alice Liddell")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Email address").fill(email)
    page.get_by_role("button", name="Sign up").click()


def _choose_password(page: Page, password: str) -> None:
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_label("Password again").fill(password)
    page.get_by_role("button", name="Create my account").click()


def _captured(subject: str, timeout: float = 20.0) -> CapturedMail:
    """The mail with this subject, once the worker has sent it."""
    deadline = time.monotonic() + timeout
    while (mail := CapturedMail.objects.filter(subject=subject).first()) is None:
        assert time.monotonic() < deadline, f"no mail {subject!r} within {timeout} s"
        time.sleep(0.1)
    return mail


def test_sign_up_verify_by_captured_mail_log_out_and_in_by_email(
    page: Page, other_page: Page, live_with_worker: LiveServer
) -> None:
    live = live_with_worker  # the worker sends the sign-up mail
    # A mistake first: the form explains it beside the field and keeps what was typed.
    page.goto(live.url + "/accounts/signup/")
    page.get_by_label("Display name").fill("Alice Liddell")
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Email address").fill("alice@example.com")
    page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_text("That username is reserved")).to_be_visible()
    expect(page.get_by_label("Username")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Email address")).to_have_value("alice@example.com")
    screenshot(page, "signup-errors")

    _sign_up(page, live, username="alice", email="Alice@Example.com")
    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()
    expect(page.get_by_text("Alice@example.com")).to_be_visible()
    screenshot(page, "signup-check-email")
    assert not User.objects.exists()  # nothing until the link is used

    # The captured mail, read from this browser session.
    _captured("Finish creating your TweetHub account")
    page.get_by_role("link", name="Open my captured mail").click()
    expect(page).to_have_url(re.compile(r"/admin/mails/$"))
    screenshot(page, "signup-mail-list")
    page.get_by_role("link", name="Finish creating your TweetHub account").click()
    screenshot(page, "signup-mail-detail")
    page.locator(".mail-text a[href*='/accounts/signup/']").first.click()
    expect(page.get_by_role("heading", name="Choose your password")).to_be_visible()
    _choose_password(page, "short")
    expect(page.get_by_text("This password is too short")).to_be_visible()
    screenshot(page, "signup-password-errors")
    _choose_password(page, PASSPHRASE)
    expect(page.get_by_role("heading", name="Email confirmed")).to_be_visible()
    expect(page.get_by_text("your account is ready")).to_be_visible()
    screenshot(page, "signup-verified")
    assert User.objects.get(username="alice").verified_at is not None
    expect(page.get_by_role("heading", name="Confirm your email address")).to_have_count(0)

    # Log out (a POST button), then back in with the email address in another capitalisation.
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("link", name="Log in")).to_be_visible()
    page.get_by_role("link", name="Log in").click()
    page.get_by_label("Username or email").fill("ALICE@example.com")
    page.get_by_label("Password").fill(PASSPHRASE)
    screenshot(page, "login")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Profile")).to_have_attribute(
        "href", "/@alice/"
    )

    # Another visitor sees none of it: not in the list, not by guessing the mail's address.
    mail = CapturedMail.objects.get()
    other_page.goto(live.url + "/admin/mails/")
    expect(other_page.get_by_text("Finish creating your TweetHub account")).to_have_count(0)
    screenshot(other_page, "mail-list-other-visitor")
    response = other_page.goto(f"{live.url}/admin/mails/{mail.pk}/")
    assert response is not None
    assert response.status == 404

    assert_clean(page)
    assert_clean(other_page)


def test_profile_edit_with_avatar_and_public_page(page: Page, live: LiveServer, tmp_path: object) -> None:
    user = make_user("bea", name="Bea Arthur")
    page.goto(live.url + "/accounts/login/")
    page.get_by_label("Username or email").fill("bea")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Settings").click()
    page.get_by_label("Bio").fill("Writes <b>short</b> things & reads long ones.")
    page.get_by_label("Location").fill("Lisbon")
    page.get_by_label("Website").fill("https://bea.example")
    from PIL import Image

    avatar = tmp_path / "bea.png"  # type: ignore[operator]
    Image.new("RGB", (640, 480), "#2f7d5b").save(avatar)
    page.get_by_label("Avatar").set_input_files(str(avatar))
    page.get_by_role("button", name="Save profile").click()
    expect(page.get_by_text("Your profile is saved.")).to_be_visible()
    screenshot(page, "settings-profile")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Profile").click()
    expect(page.get_by_role("heading", name="Bea Arthur")).to_be_visible()
    expect(page.get_by_text("Writes <b>short</b> things & reads long ones.")).to_be_visible()
    avatar_img = page.locator("img.avatar")
    expect(avatar_img).to_be_visible()
    assert avatar_img.evaluate("img => img.naturalWidth") == 400
    screenshot(page, "profile")

    # A file that is not an image gets a message beside the field, and nothing changes.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Settings").click()
    fake = tmp_path / "virus.png"  # type: ignore[operator]
    fake.write_bytes(b"MZ not really an image")
    page.get_by_label("Avatar").set_input_files(str(fake))
    page.get_by_label("Location").fill("Porto")
    page.get_by_role("button", name="Save profile").click()
    expect(page.get_by_text("That file is not an image we can read.")).to_be_visible()
    screenshot(page, "settings-profile-bad-avatar")
    user.refresh_from_db()
    assert user.location == "Lisbon"
    assert_clean(page)
