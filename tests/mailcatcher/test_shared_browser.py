"""Demo mode on a shared browser (issue 17, item 5): access to captured mail ends with the session
that earned it. The takeover this closes: alice logs out, the next person on her browser asks for a
password reset for her address and reads the link in the captured-mail inbox.

Everything goes through the real forms: login, logout, the reset request, the inbox."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.test import Client

from mailcatcher.models import CapturedMail
from tests.factories import PASSWORD, make_user

# The reset mail may be captured by a worker task, queued on commit: run both for real, inline.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("eager_tasks")]

INBOX = "/admin/mails/"
RESET_LINK = re.compile(r"/accounts/password/reset/[^/\s]+/[^/\s]+/")


def _log_in(browser: Client, username: str) -> None:
    response = browser.post("/accounts/login/", {"username": username, "password": PASSWORD})
    assert response.status_code == 302, response.content.decode()[:300]


def _mail_ids_listed(browser: Client) -> list[int]:
    page = browser.get(INBOX)
    assert page.status_code == 200
    return [int(mail_id) for mail_id in re.findall(r'href="/admin/mails/(\d+)/"', page.content.decode())]


def _readable(browser: Client, captured: CapturedMail) -> bool:
    """Whether any page of the inbox shows this mail to the browser (the list, its page, its HTML)."""
    detail = browser.get(f"{INBOX}{captured.pk}/")
    html = browser.get(f"{INBOX}{captured.pk}/html/")
    return captured.pk in _mail_ids_listed(browser) or detail.status_code == 200 or html.status_code == 200


def test_the_next_person_on_the_browser_cannot_read_a_reset_link_for_the_previous_account() -> None:
    alice = make_user("alice")
    browser = Client()
    _log_in(browser, "alice")
    mail.send_mail("Welcome back", "Hello alice", None, [alice.email])
    welcome = CapturedMail.objects.get(subject="Welcome back")
    assert _readable(browser, welcome)  # her own mail, while she is logged in

    assert browser.post("/accounts/logout/").status_code == 302
    assert not _readable(browser, welcome)  # access ended with her session
    assert _mail_ids_listed(browser) == []

    # The next person on this browser asks for a reset of alice's account...
    assert browser.post("/accounts/password/reset/", {"email": alice.email}).status_code == 302
    reset = CapturedMail.objects.get(subject="Reset your TweetHub password")
    assert reset.to == [alice.email]
    assert list(reset.recipients.all()) == [alice]
    # ...and can read neither the mail nor the link in it, on any page of the inbox.
    assert not _readable(browser, reset)
    for page in (browser.get(INBOX), browser.get(f"{INBOX}{reset.pk}/"), browser.get(f"{INBOX}?to=alice")):
        assert not RESET_LINK.search(page.content.decode())
    alice.refresh_from_db()
    assert alice.check_password(PASSWORD)

    # Alice herself, logged in again with her password, does see it: she owns the account.
    own_browser = Client()
    _log_in(own_browser, "alice")
    assert _readable(own_browser, reset)


def test_logging_into_another_account_ends_access_to_the_first() -> None:
    oona, otto = make_user("oona"), make_user("otto")
    for user in (oona, otto):
        mail.send_mail(f"For {user.username}", "x", None, [user.email])
    browser = Client()
    _log_in(browser, "oona")
    _log_in(browser, "otto")  # no logout in between

    assert _mail_ids_listed(browser) == [CapturedMail.objects.get(to=[otto.email]).pk]
    assert not _readable(browser, CapturedMail.objects.get(to=[oona.email]))
