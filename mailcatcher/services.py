"""Writes of the mail catcher: capture an outgoing mail, deliver a captured one.

Together they are a transactional outbox. `mail_capture` stores the mail in the caller's transaction
(a rolled-back sign-up leaves no mail; a committed one always has it) and, when real delivery is
configured, queues it on commit. `mail_deliver` then sends it from a worker, at most once per
successful commit.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from email.utils import getaddresses

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ImproperlyConfigured
from django.core.mail import EmailMessage, EmailMultiAlternatives, get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.db import transaction
from django.db.models.functions import Lower
from django.utils import timezone

# The capturing backend (backends.py) imports this module; this module knows it only by its
# `captures` marker, so the two never import each other.
from mailcatcher import access
from mailcatcher.models import CapturedMail
from tweethub import outbox

logger = logging.getLogger(__name__)

# Headers a later delivery must repeat verbatim; the rest of the MIME headers are rebuilt from the
# stored fields.
_GENERATED_HEADERS = ("Date", "Message-ID")


def mail_capture(*, message: EmailMessage) -> CapturedMail:
    """Store `message` as a CapturedMail linked to the accounts it is addressed to, and to the
    session grant named by its access.GRANT_HEADER header, if any (the header is not kept).

    Runs in a savepoint of the caller's transaction (or its own transaction when there is none), so
    a failure here leaves the caller's transaction usable. Raises BadHeaderError (a ValueError) for
    header injection and DatabaseError for unstorable content, with nothing written. When
    MAIL_DELIVERY_BACKEND is set, queues `deliver_mail_task` after the outermost commit only.
    """
    # Rendering the MIME message validates the headers (newline injection) and generates the
    # Message-ID and Date exactly as a real send would.
    mime = message.message()
    headers = {str(name): str(value) for name, value in message.extra_headers.items()}
    # The grant header is an instruction to us, not part of the mail: never stored, never delivered.
    grant = next((headers.pop(name) for name in list(headers) if name.lower() == access.GRANT_HEADER.lower()), "")
    present = {name.lower() for name in headers}
    for name in _GENERATED_HEADERS:
        if name.lower() not in present and mime[name] is not None:
            headers[name] = str(mime[name])

    text_body, html_body = _bodies(message)
    with transaction.atomic():
        mail = CapturedMail.objects.create(
            from_email=message.from_email,
            to=list(message.to),
            cc=list(message.cc),
            bcc=list(message.bcc),
            reply_to=list(message.reply_to),
            subject=str(message.subject),  # may be a lazy translation
            text_body=text_body,
            html_body=html_body,
            headers=headers,
            created_at=timezone.now(),
            session_grant=grant,
        )
        user_ids = _account_ids_for(message.recipients())
        if user_ids:
            mail.recipients.add(*user_ids)
        if settings.MAIL_DELIVERY_BACKEND:
            # Through the outbox: queued with the mail row, so a broker outage delays delivery
            # and cannot lose it (the relay sends the task once the broker is back).
            outbox.enqueue("mailcatcher.tasks.deliver_mail_task", mail.pk)
    return mail


def mail_deliver(*, mail_id: int) -> CapturedMail:
    """Really send captured mail `mail_id` through settings.MAIL_DELIVERY_BACKEND.

    Idempotent: a mail whose delivered_at is set is returned untouched. The row is locked for the
    whole send, so two workers running the same task cannot both send it; a crash between the
    server accepting the mail and our commit can still repeat it on retry (at-least-once), which
    the unchanged Message-ID lets receivers de-duplicate. Raises CapturedMail.DoesNotExist if the
    mail was deleted, and the delivery backend's errors (OSError / SMTPException) for the task to
    retry.
    """
    backend_path = settings.MAIL_DELIVERY_BACKEND
    if not backend_path:
        raise ImproperlyConfigured("MAIL_DELIVERY_BACKEND is empty: captured mail has nowhere to go")
    with transaction.atomic():
        mail = CapturedMail.objects.select_for_update().get(pk=mail_id)
        if mail.delivered_at is not None:
            return mail
        connection = get_connection(backend_path, fail_silently=False)
        if getattr(connection, "captures", False):
            # Delivering through the capturing backend would capture a copy, queue its delivery,
            # capture another copy, and so on forever.
            raise ImproperlyConfigured("MAIL_DELIVERY_BACKEND must not be the capturing backend")
        _rebuild(mail, connection=connection).send()
        mail.delivered_at = timezone.now()
        mail.save(update_fields=["delivered_at"])
    return mail


def _bodies(message: EmailMessage) -> tuple[str, str]:
    """(text body, HTML body) of a message; either may be empty."""
    if message.content_subtype == "html":
        return "", _as_text(message.body)
    html = ""
    if isinstance(message, EmailMultiAlternatives):
        html = next(
            (_as_text(content) for content, mimetype in message.alternatives if mimetype == "text/html"),
            "",
        )
    return _as_text(message.body), html


def _as_text(content: object) -> str:
    if isinstance(content, bytes):
        return content.decode("utf-8", errors="replace")
    return "" if content is None else str(content)


def _account_ids_for(addresses: Iterable[str]) -> list[int]:
    """Ids of the accounts whose email matches one of `addresses` (case-insensitively), in one
    query. An address shared by several accounts links none of them: the mail for one of them
    (say its password reset) must never become readable through another, so ambiguity fails
    closed. The accounts app is expected to keep emails unique, which makes this case empty."""
    wanted = {address.lower() for _name, address in getaddresses(list(addresses)) if address}
    if not wanted:
        return []
    accounts: dict[str, list[int]] = defaultdict(list)
    matches = (
        get_user_model()
        .objects.annotate(email_lower=Lower("email"))
        .filter(email_lower__in=wanted)
        .values_list("pk", "email_lower")
    )
    for pk, address in matches:
        accounts[address].append(pk)
    return sorted(ids[0] for ids in accounts.values() if len(ids) == 1)


def _rebuild(mail: CapturedMail, *, connection: BaseEmailBackend) -> EmailMessage:
    """The EmailMessage that produces the captured mail again, same Message-ID and Date."""
    message_class = EmailMessage if mail.html_body and not mail.text_body else EmailMultiAlternatives
    message = message_class(
        subject=mail.subject,
        body=mail.text_body or mail.html_body,
        from_email=mail.from_email,
        to=mail.to,
        cc=mail.cc,
        bcc=mail.bcc,
        reply_to=mail.reply_to,
        headers=dict(mail.headers),
        connection=connection,
    )
    if isinstance(message, EmailMultiAlternatives):
        if mail.html_body:
            message.attach_alternative(mail.html_body, "text/html")
    else:
        message.content_subtype = "html"  # an HTML-only mail stays HTML-only
    return message
