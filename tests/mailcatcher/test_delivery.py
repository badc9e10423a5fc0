"""The outbox: with MAIL_DELIVERY_BACKEND set, captured mail is really sent after commit, once.

Django's locmem backend stands in for SMTP: it is a real EmailBackend that keeps what it sends in
django.core.mail.outbox instead of leaving the machine.
"""

from __future__ import annotations

import pytest
from django.core import mail
from django.core.checks import run_checks
from django.core.exceptions import ImproperlyConfigured
from django.core.mail import EmailMessage, EmailMultiAlternatives
from django.db import transaction
from pytest_django import DjangoCaptureOnCommitCallbacks, Settings

from mailcatcher.models import CapturedMail
from mailcatcher.services import mail_deliver
from tests.mailcatcher.conftest import CAPTURING_BACKEND, LOCMEM_BACKEND, MakeUser
from tests.waiting import eventually


@pytest.fixture
def delivering(settings: Settings) -> None:
    settings.MAIL_DELIVERY_BACKEND = LOCMEM_BACKEND


@pytest.mark.django_db
def test_delivery_sends_the_captured_mail_once(delivering: None, mailoutbox: list[EmailMessage]) -> None:
    original = EmailMultiAlternatives(
        subject="Welcome",
        body="Text https://x.example/",
        from_email="TweetHub <hi@tweethub.example>",
        to=["alice@example.com"],
        cc=["cc@example.com"],
        bcc=["bcc@example.com"],
        reply_to=["help@tweethub.example"],
        headers={"X-Kind": "welcome"},
    )
    original.attach_alternative("<p>HTML</p>", "text/html")
    original.send()
    captured = CapturedMail.objects.get()
    assert mailoutbox == []  # capturing sends nothing by itself

    first = mail_deliver(mail_id=captured.pk)
    again = mail_deliver(mail_id=captured.pk)

    [sent] = mailoutbox
    assert first.delivered_at is not None
    assert again.delivered_at == first.delivered_at
    assert isinstance(sent, EmailMultiAlternatives)
    assert (sent.subject, sent.body, sent.from_email) == (
        "Welcome",
        "Text https://x.example/",
        "TweetHub <hi@tweethub.example>",
    )
    assert (sent.to, sent.cc, sent.bcc, sent.reply_to) == (
        ["alice@example.com"],
        ["cc@example.com"],
        ["bcc@example.com"],
        ["help@tweethub.example"],
    )
    assert [tuple(alternative) for alternative in sent.alternatives] == [("<p>HTML</p>", "text/html")]
    # The same Message-ID as captured, so a receiver can recognise a retried send.
    rendered = sent.message()
    assert rendered["Message-ID"] == captured.headers["Message-ID"]
    assert rendered["X-Kind"] == "welcome"


@pytest.mark.django_db
def test_an_html_only_mail_is_delivered_as_html(delivering: None, mailoutbox: list[EmailMessage]) -> None:
    message = EmailMessage("Hi", "<h1>Hello</h1>", None, ["a@example.com"])
    message.content_subtype = "html"
    message.send()

    mail_deliver(mail_id=CapturedMail.objects.get().pk)

    [sent] = mailoutbox
    assert (sent.body, sent.content_subtype) == ("<h1>Hello</h1>", "html")


@pytest.mark.django_db
def test_delivery_is_queued_on_commit_only_when_configured(
    settings: Settings, django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks
) -> None:
    with django_capture_on_commit_callbacks() as callbacks:
        mail.send_mail("Hi", "x", None, ["a@example.com"])
    assert callbacks == []

    settings.MAIL_DELIVERY_BACKEND = LOCMEM_BACKEND
    with django_capture_on_commit_callbacks() as callbacks:
        mail.send_mail("Hi", "x", None, ["a@example.com"])
    assert len(callbacks) == 1


@pytest.mark.django_db
def test_delivery_refuses_to_loop_through_the_capturing_backend(
    settings: Settings,
) -> None:
    mail.send_mail("Hi", "x", None, ["a@example.com"])
    captured = CapturedMail.objects.get()

    settings.MAIL_DELIVERY_BACKEND = ""
    with pytest.raises(ImproperlyConfigured):
        mail_deliver(mail_id=captured.pk)
    settings.MAIL_DELIVERY_BACKEND = CAPTURING_BACKEND
    with pytest.raises(ImproperlyConfigured):
        mail_deliver(mail_id=captured.pk)
    assert CapturedMail.objects.count() == 1
    captured.refresh_from_db()
    assert captured.delivered_at is None


@pytest.mark.django_db(transaction=True)
def test_a_worker_delivers_committed_mail_and_never_rolled_back_mail(
    celery_worker: object, delivering: None, make_user: MakeUser, mailoutbox: list[EmailMessage]
) -> None:
    class SignUpFailed(Exception):
        pass

    def failed_sign_up() -> None:
        with transaction.atomic():
            mail.send_mail("Rolled back", "x", None, ["ghost@example.com"])
            raise SignUpFailed

    with pytest.raises(SignUpFailed):
        failed_sign_up()
    with transaction.atomic():
        alice = make_user("alice")
        mail.send_mail("Committed", "x", None, [alice.email])

    captured = CapturedMail.objects.get()
    assert eventually(lambda: CapturedMail.objects.filter(delivered_at__isnull=False).exists())
    assert [m.subject for m in mailoutbox] == ["Committed"]
    assert CapturedMail.objects.get(pk=captured.pk).delivered_at is not None


def _mail_checks() -> list[str]:
    return [str(message.id) for message in run_checks() if (message.id or "").startswith("mailcatcher.")]


def test_the_system_check_refuses_the_capturing_backend_as_delivery_backend(settings: Settings) -> None:
    settings.MAIL_DELIVERY_BACKEND = CAPTURING_BACKEND
    assert _mail_checks() == ["mailcatcher.E001"]
    settings.MAIL_DELIVERY_BACKEND = "mailcatcher.backends.NoSuchBackend"
    assert _mail_checks() == ["mailcatcher.E002"]
    settings.MAIL_DELIVERY_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert _mail_checks() == []
