from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models


class CapturedMail(models.Model):
    """One outgoing mail as the site sent it: the capturing backend writes it in the sender's
    transaction, so the row exists exactly when the business data that caused it does.

    `recipients` links the accounts whose address the mail went to; it is what decides who may
    read the mail in demo mode (see mailcatcher.access), so it is written once and never guessed
    at read time.
    """

    from_email = models.TextField()
    to = ArrayField(models.TextField(), default=list, blank=True)
    cc = ArrayField(models.TextField(), default=list, blank=True)
    bcc = ArrayField(models.TextField(), default=list, blank=True)
    reply_to = ArrayField(models.TextField(), default=list, blank=True)
    subject = models.TextField(blank=True)
    text_body = models.TextField(blank=True)
    html_body = models.TextField(blank=True)
    # Extra headers the sender set, plus the Message-ID and Date generated at capture time, so a
    # later real delivery carries the same Message-ID (receivers can de-duplicate a retried send).
    headers = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField()
    # Set once the outbox delivered the mail through MAIL_DELIVERY_BACKEND; null = not (yet) sent.
    delivered_at = models.DateTimeField(null=True, blank=True)
    recipients = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="captured_mails", blank=True)
    # A mail to an address that has no account yet (the link that finishes a sign-up) is linked to
    # nobody; in demo mode the browser session that asked for it reads it by this random key,
    # which it holds in its server-side session (mailcatcher.access.new_grant). "" for other mail.
    session_grant = models.CharField(max_length=64, blank=True, default="", db_default="")

    class Meta:
        # Newest first by id: unique and increasing, so it is also a stable keyset cursor
        # (?before=<id>) served by the primary key index.
        ordering = ["-id"]
        indexes = [
            # Time-range reads and purges ("mail older than N days") without a full scan.
            models.Index(fields=["created_at"], name="mailcatcher_created_at_idx"),
            # The few mails a session reads by grant: found without scanning the others.
            models.Index(
                fields=["session_grant"], name="mailcatcher_grant_idx", condition=~models.Q(session_grant="")
            ),
        ]

    def __str__(self) -> str:
        return f"{self.subject or '(no subject)'} -> {', '.join(self.to) or '(no recipient)'}"

    def header_items(self) -> list[tuple[str, str]]:
        """Stored headers as (name, value) pairs, for templates: a dict's `.items` in a template
        would look up a header literally named "items" first."""
        return [(str(name), str(value)) for name, value in self.headers.items()]
