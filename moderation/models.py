"""Reports from users and what staff did about them.

A report names what was reported (a tweet, a profile or a direct message) and always the account
it is about (`subject`), and keeps a copy of the reported text as it was (`snapshot`): staff judge
what the reporter saw, even after the tweet was deleted or the profile edited. The audit log
(`ModerationAction`) keeps who did what to whom, with usernames copied in, so it survives the
deletion of either account.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Now


class ReportKind(models.TextChoices):
    TWEET = "tweet", "Tweet"
    PROFILE = "profile", "Profile"
    MESSAGE = "message", "Message"


class ReportReason(models.TextChoices):
    SPAM = "spam", "Spam or scam"
    ABUSE = "abuse", "Harassment or hate"
    VIOLENCE = "violence", "Threats or violence"
    ILLEGAL = "illegal", "Illegal content"
    IMPERSONATION = "impersonation", "Impersonation"
    OTHER = "other", "Something else"


class ReportStatus(models.TextChoices):
    OPEN = "open", "Open"
    DISMISSED = "dismissed", "Dismissed"
    ACTIONED = "actioned", "Action taken"


class Report(models.Model):
    reporter = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    kind = models.CharField(max_length=10, choices=ReportKind.choices)
    # The account the report is about: the tweet's author, the profile, the message's sender. Its
    # reports go when it is deleted: there is nothing left to act on.
    subject = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reports_about")
    # Plain ids, not foreign keys: the report (and its snapshot) outlives a deleted tweet or message.
    tweet_id = models.BigIntegerField(null=True, blank=True)
    message_id = models.BigIntegerField(null=True, blank=True)
    snapshot = models.TextField(blank=True)
    reason = models.CharField(max_length=20, choices=ReportReason.choices)
    note = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(db_default=Now())
    status = models.CharField(
        max_length=10, choices=ReportStatus.choices, default=ReportStatus.OPEN, db_default=ReportStatus.OPEN
    )
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            # One open report per reporter and item: reporting twice changes nothing.
            models.UniqueConstraint(
                fields=["reporter", "kind", "subject", "tweet_id", "message_id"],
                condition=Q(status="open"),
                nulls_distinct=False,
                name="moderation_report_open_once",
            ),
            models.CheckConstraint(
                condition=(Q(kind="tweet") & Q(tweet_id__isnull=False) & Q(message_id__isnull=True))
                | (Q(kind="message") & Q(message_id__isnull=False) & Q(tweet_id__isnull=True))
                | (Q(kind="profile") & Q(tweet_id__isnull=True) & Q(message_id__isnull=True)),
                name="moderation_report_target_matches_kind",
            ),
            models.CheckConstraint(
                condition=Q(status="open", resolved_at__isnull=True)
                | (~Q(status="open") & Q(resolved_at__isnull=False)),
                name="moderation_report_resolution_complete",
            ),
        ]
        indexes = [
            # The staff queue: open reports, oldest first.
            models.Index(fields=["id"], condition=Q(status="open"), name="moderation_report_open"),
            models.Index(fields=["subject", "status"], name="moderation_report_subject"),
        ]

    def __str__(self) -> str:
        return f"report {self.pk} ({self.kind}) about {self.subject_id}"


class ActionKind(models.TextChoices):
    DISMISS = "dismiss", "Dismissed a report"
    DELETE_TWEET = "delete_tweet", "Deleted a tweet"
    SUSPEND = "suspend", "Suspended an account"
    UNSUSPEND = "unsuspend", "Lifted a suspension"


class ModerationAction(models.Model):
    """The audit log: one row per staff action, written in the action's own transaction."""

    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    actor_username = models.CharField(max_length=15)
    action = models.CharField(max_length=20, choices=ActionKind.choices)
    subject = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    subject_username = models.CharField(max_length=15, blank=True)
    tweet_id = models.BigIntegerField(null=True, blank=True)
    report = models.ForeignKey(Report, null=True, blank=True, on_delete=models.SET_NULL, related_name="actions")
    note = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(db_default=Now())

    class Meta:
        indexes = [models.Index(fields=["-id"], name="moderation_action_newest")]

    def __str__(self) -> str:
        return f"{self.actor_username} {self.action} {self.subject_username}"
