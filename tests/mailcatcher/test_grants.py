"""Session grants: the one kind of mail a browser reads without being logged into its recipient,
the link that finishes a sign-up (an address with no account yet). Held in the server-side
session, carried by the mail, ended with the session."""

from __future__ import annotations

from importlib import import_module

import pytest
from django.conf import settings
from django.contrib.sessions.backends.base import SessionBase
from django.core.mail import EmailMessage
from django.test import Client
from pytest_django import Settings

from mailcatcher.access import GRANT_HEADER, MAX_GRANTS, SESSION_KEY, new_grant, session_grants
from mailcatcher.models import CapturedMail
from mailcatcher.services import mail_deliver
from tests.mailcatcher.conftest import LOCMEM_BACKEND


def _granted(client: Client) -> str:
    session = client.session
    grant = new_grant(session)
    session.save()
    return grant


def _send_with(grant: str, subject: str = "Finish signing up") -> CapturedMail:
    EmailMessage(
        subject, "https://x.example/finish", None, ["newcomer@example.com"], headers={GRANT_HEADER: grant}
    ).send()
    return CapturedMail.objects.get(subject=subject)


@pytest.mark.django_db
def test_the_session_holding_a_grant_reads_its_mail_and_nobody_else_does(client: Client) -> None:
    mail = _send_with(_granted(client))
    other = Client()
    _granted(other)  # a grant of its own does not open anyone else's

    assert f'href="/admin/mails/{mail.pk}/"'.encode() in client.get("/admin/mails/").content
    assert client.get(f"/admin/mails/{mail.pk}/").status_code == 200
    assert other.get(f"/admin/mails/{mail.pk}/").status_code == 404
    assert f"/admin/mails/{mail.pk}/".encode() not in other.get("/admin/mails/").content

    client.post("/accounts/logout/")  # flushes the session, grants included
    assert client.get(f"/admin/mails/{mail.pk}/").status_code == 404


@pytest.mark.django_db
def test_the_grant_header_is_kept_out_of_the_stored_and_the_delivered_mail(
    client: Client, settings: Settings, mailoutbox: list[EmailMessage]
) -> None:
    settings.MAIL_DELIVERY_BACKEND = LOCMEM_BACKEND
    grant = _granted(client)
    mail = _send_with(grant)

    assert mail.session_grant == grant
    assert GRANT_HEADER not in mail.headers
    assert grant not in client.get(f"/admin/mails/{mail.pk}/").content.decode()
    mail_deliver(mail_id=mail.pk)
    [sent] = mailoutbox
    assert sent.message()[GRANT_HEADER] is None


@pytest.mark.django_db
def test_outside_demo_mode_a_grant_opens_nothing(client: Client, settings: Settings) -> None:
    settings.DEMO_MODE = False
    mail = _send_with(_granted(client))
    assert client.get(f"/admin/mails/{mail.pk}/").status_code == 404


def _session() -> SessionBase:
    store: SessionBase = import_module(settings.SESSION_ENGINE).SessionStore()
    return store


def test_grants_are_random_and_only_the_newest_are_kept() -> None:
    session = _session()
    grants = [new_grant(session) for _ in range(MAX_GRANTS + 5)]

    assert len(set(grants)) == len(grants)
    assert all(len(grant) >= 32 for grant in grants)
    assert session_grants(session) == grants[-MAX_GRANTS:]


def test_malformed_session_data_grants_nothing() -> None:
    session = _session()
    session[SESSION_KEY] = "abc"
    assert session_grants(session) == []
    session[SESSION_KEY] = ["", None, 5, "kept"]
    assert session_grants(session) == ["kept"]
