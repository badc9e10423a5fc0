"""The capturing EMAIL_BACKEND: every outgoing mail becomes a CapturedMail row, in the sender's
transaction, linked to the accounts it was sent to."""

from __future__ import annotations

import importlib
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.mail import BadHeaderError, EmailMessage, EmailMultiAlternatives
from django.db import DataError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from mailcatcher.models import CapturedMail
from tests.mailcatcher.conftest import CAPTURING_BACKEND, MakeUser


def test_it_is_the_configured_default() -> None:
    # Read the settings module itself: Django's test setup overrides the live setting.
    assert importlib.import_module("tweethub.settings").EMAIL_BACKEND == CAPTURING_BACKEND


@pytest.mark.django_db
def test_stores_every_field_of_a_multipart_mail() -> None:
    message = EmailMultiAlternatives(
        subject="Confirm your address",
        body="Open https://tweethub.example/verify/abc/ to confirm.",
        from_email="TweetHub <no-reply@tweethub.example>",
        to=["Alice <alice@example.com>"],
        cc=["carol@example.com"],
        bcc=["audit@example.com"],
        reply_to=["help@tweethub.example"],
        headers={"X-Tweethub-Kind": "verify"},
    )
    message.attach_alternative("<p>Open <a href='https://x.example/'>this</a></p>", "text/html")
    before = timezone.now()

    assert message.send() == 1

    stored = CapturedMail.objects.get()
    assert stored.from_email == "TweetHub <no-reply@tweethub.example>"
    assert stored.to == ["Alice <alice@example.com>"]
    assert stored.cc == ["carol@example.com"]
    assert stored.bcc == ["audit@example.com"]
    assert stored.reply_to == ["help@tweethub.example"]
    assert stored.subject == "Confirm your address"
    assert stored.text_body == "Open https://tweethub.example/verify/abc/ to confirm."
    assert stored.html_body == "<p>Open <a href='https://x.example/'>this</a></p>"
    assert stored.headers["X-Tweethub-Kind"] == "verify"
    assert stored.headers["Message-ID"].startswith("<")
    assert stored.headers["Date"]
    assert stored.created_at.tzinfo is not None
    assert before <= stored.created_at <= before + timedelta(seconds=5)
    assert stored.delivered_at is None
    assert str(stored) == "Confirm your address -> Alice <alice@example.com>"


@pytest.mark.django_db
def test_an_html_only_mail_keeps_its_body_as_html() -> None:
    message = EmailMessage(subject="Hi", body="<h1>Hello</h1>", to=["a@example.com"])
    message.content_subtype = "html"
    message.send()

    stored = CapturedMail.objects.get()
    assert (stored.text_body, stored.html_body) == ("", "<h1>Hello</h1>")


@pytest.mark.django_db
def test_a_message_id_set_by_the_sender_is_kept() -> None:
    EmailMessage(subject="Hi", body="x", to=["a@example.com"], headers={"Message-ID": "<fixed@example>"}).send()

    headers = CapturedMail.objects.get().headers
    assert headers["Message-ID"] == "<fixed@example>"
    assert "Date" in headers


@pytest.mark.django_db
def test_recipients_are_linked_case_insensitively_across_to_cc_and_bcc(
    make_user: MakeUser,
) -> None:
    alice = make_user("alice", email="Alice@Example.com")
    bob = make_user("bob", email="bob@example.com")
    carol = make_user("carol", email="carol@example.com")
    make_user("dave", email="dave@example.com")

    EmailMessage(
        subject="Hi",
        body="x",
        to=["ALICE@example.COM", "stranger@example.com"],
        cc=["Bob <BOB@EXAMPLE.COM>"],
        bcc=["carol@example.com"],
    ).send()

    assert set(CapturedMail.objects.get().recipients.all()) == {alice, bob, carol}


@pytest.mark.django_db
def test_linking_costs_the_same_queries_for_one_or_many_addresses(make_user: MakeUser) -> None:
    users = [make_user() for _ in range(6)]

    def queries_to_send(addresses: list[str]) -> int:
        with CaptureQueriesContext(connection) as queries:
            EmailMessage(subject="Hi", body="x", to=addresses).send()
        return len(queries)

    assert queries_to_send([users[0].email]) == queries_to_send([u.email for u in users[1:]])
    assert CapturedMail.objects.filter(recipients=users[3]).count() == 1


@pytest.mark.django_db
def test_mail_without_matching_account_is_stored_unlinked(make_user: MakeUser) -> None:
    make_user("alice", email="alice@example.com")
    mail.send_mail("Hi", "x", None, ["nobody@example.com"])

    stored = CapturedMail.objects.get()
    assert stored.to == ["nobody@example.com"]
    assert not stored.recipients.exists()


@pytest.mark.django_db
def test_send_messages_returns_how_many_were_stored() -> None:
    sent = mail.send_mass_mail([("One", "1", None, ["a@example.com"]), ("Two", "2", None, ["b@example.com"])])
    assert sent == 2
    assert list(CapturedMail.objects.values_list("subject", flat=True)) == ["Two", "One"]


@pytest.mark.django_db
def test_mail_sent_in_a_rolled_back_transaction_leaves_no_row(make_user: MakeUser) -> None:
    """Sign-up is atomic: if anything after the mail fails, neither user nor mail remains."""

    class SignUpFailed(Exception):
        pass

    def sign_up() -> None:
        with transaction.atomic():
            user = make_user("alice")
            mail.send_mail("Confirm", "link", None, [user.email])
            assert CapturedMail.objects.count() == 1  # written in the caller's transaction...
            raise SignUpFailed

    with pytest.raises(SignUpFailed):
        sign_up()

    assert not CapturedMail.objects.exists()  # ...so it rolled back with it
    assert not get_user_model().objects.filter(username="alice").exists()


@pytest.mark.django_db
def test_header_injection_raises_unless_fail_silently() -> None:
    with pytest.raises(BadHeaderError):
        mail.send_mail("Hi\nBcc: victim@example.com", "x", None, ["a@example.com"])

    sent = mail.send_mail("Hi\nBcc: v@example.com", "x", None, ["a@x.example"], fail_silently=True)
    assert sent == 0
    assert not CapturedMail.objects.exists()


@pytest.mark.django_db
def test_a_failed_capture_leaves_the_callers_transaction_usable(make_user: MakeUser) -> None:
    """Postgres refuses NUL bytes; with fail_silently the caller's transaction carries on (the
    capture ran in a savepoint), without it the error reaches the caller."""
    with transaction.atomic():
        user = make_user("alice")
        assert mail.send_mail("Bad", "nul\x00byte", None, [user.email], fail_silently=True) == 0
        assert mail.send_mail("Good", "fine", None, [user.email]) == 1

    assert list(CapturedMail.objects.values_list("subject", flat=True)) == ["Good"]

    with pytest.raises(DataError):
        mail.send_mail("Bad", "nul\x00byte", None, ["a@example.com"])
