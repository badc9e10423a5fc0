"""Notifications (issue 21), stored in Postgres.

Two tables:
  - `NotificationEvent`: one row per thing that happened to someone (Ana liked tweet 7 of Bob),
    unique per (recipient, kind, actor, object), so a task run twice (the outbox delivers at least
    once) or a like, unlike and like again notifies once.
  - `Notification`: what the notifications page lists, one row per GROUP ("Ana and 3 others liked
    your tweet"). A new event joins the recipient's UNREAD group of the same key (a partial unique
    index: at most one unread group per key), else opens a new one; so once read, the next like
    starts a new notification, as on Twitter. `seq` is taken from a sequence on every change: the
    page is ordered and paged by it (a group with news moves to the top).
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.db.models.functions import Now


class Kind(models.TextChoices):
    MENTION = "mention", "mention"
    LIKE = "like", "like"
    FOLLOW = "follow", "follow"
    MESSAGE = "message", "direct message"
    REPLY = "reply", "reply"
    REPOST = "repost", "repost"
    QUOTE = "quote", "quote"


class NotificationEvent(models.Model):
    id = models.BigAutoField(primary_key=True)
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False)
    # Indexed: deleting an account cascades to the events it caused.
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    # The tweet (like, mention, reply, repost, quote), the message (direct message) or 0 (follow).
    # Not a foreign key: it names rows of different tables; a deleted tweet's events are harmless.
    object_id = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(db_default=Now())

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["recipient", "kind", "actor", "object_id"], name="notifications_event_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} by {self.actor_id} for {self.recipient_id}"


class Notification(models.Model):
    id = models.BigAutoField(primary_key=True)
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    # What groups events: "like:<tweet id>", "follow", "mention:<tweet id>", "message:<sender id>".
    group_key = models.CharField(max_length=64)
    # The tweet the group is about (like, mention, ...), the message (direct message), 0 otherwise.
    object_id = models.BigIntegerField(default=0)
    # The newest actors first, at most ACTORS_KEPT (the page names the first and counts the rest).
    actor_ids = ArrayField(models.BigIntegerField(), default=list)
    # Events in the group: distinct actors for likes and follows, messages for direct messages.
    event_count = models.IntegerField(default=0)
    unread = models.BooleanField(default=True)
    # Order and cursor of the page: nextval of notifications_seq at every change of the group.
    seq = models.BigIntegerField()
    updated_at = models.DateTimeField(db_default=Now())

    class Meta:
        constraints = [
            # One open (unread) group per key and recipient: the target of the upsert in notify().
            models.UniqueConstraint(
                fields=["recipient", "group_key"], condition=Q(unread=True), name="notifications_one_unread_group"
            ),
        ]
        indexes = [
            # The page, newest change first (?before=<seq>).
            models.Index(fields=["recipient", "-seq"], name="notifications_recipient_seq"),
            # The unread badge: a capped count of the recipient's unread groups (never a full COUNT).
            models.Index(fields=["recipient", "-seq"], condition=Q(unread=True), name="notifications_unread"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} notification {self.pk} for {self.recipient_id}"
