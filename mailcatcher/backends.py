"""The site's EMAIL_BACKEND: every outgoing mail is stored, none is sent from the request."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from django.core.mail import EmailMessage
from django.core.mail.backends.base import BaseEmailBackend
from django.db import DatabaseError

from mailcatcher import services

logger = logging.getLogger(__name__)


class CapturingEmailBackend(BaseEmailBackend):
    """Stores each message as a CapturedMail in the caller's transaction (see
    services.mail_capture); real delivery, if configured, happens after commit from a worker.

    Django's contract: returns how many messages were stored; with fail_silently a message that
    cannot be stored is logged and skipped (its savepoint rolled back, the caller's transaction
    intact), otherwise the error propagates to the caller.
    """

    # Marks a backend that captures instead of sending: delivering captured mail through one would
    # capture it again, forever (services.mail_deliver refuses; checks.py refuses at startup).
    captures = True

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        stored = 0
        for message in email_messages:
            try:
                services.mail_capture(message=message)
            # ValueError covers BadHeaderError (header injection); DatabaseError covers content
            # Postgres refuses (NUL bytes). Anything else is a bug and always propagates.
            except (ValueError, DatabaseError):
                if not self.fail_silently:
                    raise
                logger.exception("could not capture mail %r", message.subject)
            else:
                stored += 1
        return stored
