"""Every write of moderation: reports from users, and what staff do about them.

Reporting is open to every logged-in user, about what they can see: a tweet, a profile, a direct
message of a conversation they are part of. Acting is staff only (`_require_staff` in every action,
whatever route or command calls it), and every action writes its audit row (ModerationAction) in
the same transaction as its effect, so the log cannot miss an action or name one that rolled back.

Suspension: the account turns inactive (is_active False, which every gate already reads: login,
sessions, people lists, messaging) and its tweets leave every list (Tweet.objects.visible()) and
every feed (timelines.services.author_hide, from the outbox). Its rows are kept, so lifting the
suspension brings everything back: the account goes through the same backfill as a celebrity
returning to fan-out (DEMOTING), so readers merge its tweets until every feed holds them again.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from accounts import authcache
from accounts import cards as author_cards
from accounts.models import User
from accounts.services import fanout_mode_begin_restore
from accounts.sessions_end import sessions_end
from follows import feedstate
from messaging.models import Message
from moderation.models import ActionKind, ModerationAction, Report, ReportKind, ReportReason, ReportStatus
from timelines.services import feeds_drop
from tweethub import outbox
from tweethub.ratelimit import hit, rate_setting
from tweets import trends
from tweets.models import Tweet
from tweets.services import tweet_remove

NOTE_MAX_LENGTH = 500


class AlreadyReported(Exception):
    """The reporter already has an open report about this item: nothing was added."""


def _require_staff(user: User) -> None:
    if not (user.is_authenticated and user.is_active and user.is_staff):
        raise PermissionDenied("Only staff can do that.")


def _clean_note(note: str) -> str:
    note = note.strip()
    if "\x00" in note:
        raise ValidationError({"note": "That text contains a character we cannot store (NUL)."})
    if len(note) > NOTE_MAX_LENGTH:
        raise ValidationError({"note": f"At most {NOTE_MAX_LENGTH} characters (this has {len(note)})."})
    return note


def _log(
    *, actor: User, action: str, subject: User | None, tweet_id: int | None = None,
    report: Report | None = None, note: str = "",
) -> ModerationAction:  # fmt: skip
    return ModerationAction.objects.create(
        actor=actor, actor_username=actor.username, action=action,
        subject=subject, subject_username=subject.username if subject else "",
        tweet_id=tweet_id, report=report, note=note,
    )  # fmt: skip


def _close(reports: QuerySet[Report], *, by: User, status: str) -> int:
    """Resolve the open ones of these reports, in the current transaction."""
    return reports.filter(status=ReportStatus.OPEN).update(status=status, resolved_by=by, resolved_at=timezone.now())


# --- Reports (any logged-in user) ----------------------------------------------------------------


def report_create(*, reporter: User, kind: str, target_id: int, reason: str, note: str = "") -> Report:
    """Report a tweet (target: its id), a profile (the user's id) or a direct message (its id, in a
    conversation the reporter is part of). Not one's own. Rate-limited per reporter. Raises
    ObjectDoesNotExist for a target that is gone or not theirs to see, ValidationError for bad
    input, AlreadyReported for a second open report on the same item."""
    if kind not in ReportKind.values:
        raise ValidationError({"kind": "Choose what you are reporting."})
    if reason not in ReportReason.values:
        raise ValidationError({"reason": "Choose a reason."})
    note = _clean_note(note)
    tweet_id = message_id = None
    if kind == ReportKind.TWEET:
        tweet = Tweet.objects.visible().select_related("author").get(pk=target_id)
        subject, snapshot, tweet_id = tweet.author, tweet.text, tweet.pk
    elif kind == ReportKind.PROFILE:
        subject = User.objects.get(pk=target_id, is_active=True)
        snapshot = f"{subject.name}\n{subject.bio}\n{subject.location}\n{subject.website}".strip()
    else:
        message = Message.objects.select_related("conversation", "sender").get(pk=target_id)
        if not message.conversation.has_participant(reporter.pk):
            raise Message.DoesNotExist("not a message of the reporter's conversations")
        subject, snapshot, message_id = message.sender, message.text, message.pk
    if subject.pk == reporter.pk:
        raise ValidationError({"kind": "You cannot report yourself."})
    hit(
        scope="report",
        key=str(reporter.pk),
        rate=rate_setting("RATE_LIMIT_REPORTS_PER_USER"),
        message="You have sent many reports in a short time. Please wait a little.",
    )
    try:
        with transaction.atomic():
            return Report.objects.create(
                reporter=reporter, kind=kind, subject=subject, tweet_id=tweet_id, message_id=message_id,
                snapshot=snapshot, reason=reason, note=note,
            )  # fmt: skip
    except IntegrityError as error:
        if "moderation_report_open_once" in str(error):
            raise AlreadyReported() from error
        raise


# --- Staff actions -------------------------------------------------------------------------------


def _open_report(report_id: int | None) -> Report | None:
    if report_id is None:
        return None
    return Report.objects.select_for_update().get(pk=report_id)


def report_dismiss(*, moderator: User, report_id: int, note: str = "") -> Report:
    """Close a report with no action. Idempotent: an already resolved report is left as it is."""
    _require_staff(moderator)
    note = _clean_note(note)
    with transaction.atomic():
        report = Report.objects.select_for_update().select_related("subject").get(pk=report_id)
        if report.status == ReportStatus.OPEN:
            report.status, report.resolved_by, report.resolved_at = ReportStatus.DISMISSED, moderator, timezone.now()
            report.save(update_fields=["status", "resolved_by", "resolved_at"])
            _log(actor=moderator, action=ActionKind.DISMISS, subject=report.subject, report=report, note=note)
    return report


def tweet_takedown(*, moderator: User, tweet_id: int, report_id: int | None = None, note: str = "") -> None:
    """Delete a tweet as staff (it leaves every feed like a deletion by its author) and close every
    open report about it. Tweet.DoesNotExist if it is already gone."""
    _require_staff(moderator)
    note = _clean_note(note)
    with transaction.atomic():
        report = _open_report(report_id)
        tweet = tweet_remove(tweet_id=tweet_id)
        author = User.objects.get(pk=tweet.author_id)
        action = ActionKind.DELETE_TWEET
        _log(actor=moderator, action=action, subject=author, tweet_id=tweet_id, report=report, note=note)
        about_it = Report.objects.filter(kind=ReportKind.TWEET, tweet_id=tweet_id)
        _close(about_it, by=moderator, status=ReportStatus.ACTIONED)


def account_suspend(*, moderator: User, user_id: int, report_id: int | None = None, note: str = "") -> bool:
    """Suspend an account: it cannot log in (its sessions end: is_active is what they check), post
    or be messaged, its profile says it is suspended, and its tweets leave every list and feed.
    Closes every open report about it. Staff cannot be suspended (demote them first, in the shell).
    Returns False if it was suspended already (nothing changes, nothing is logged)."""
    _require_staff(moderator)
    note = _clean_note(note)
    with transaction.atomic():
        report = _open_report(report_id)
        user = User.objects.select_for_update().get(pk=user_id)
        if user.is_staff or user.pk == moderator.pk:
            raise PermissionDenied("Staff accounts cannot be suspended.")
        if user.suspended_at is not None:
            return False
        user.is_active, user.suspended_at = False, timezone.now()
        user.save(update_fields=["is_active", "suspended_at"])
        _log(actor=moderator, action=ActionKind.SUSPEND, subject=user, report=report, note=note)
        _close(Report.objects.filter(subject=user), by=moderator, status=ReportStatus.ACTIONED)
        outbox.enqueue("timelines.tasks.author_hide_task", user.pk)
        # At once, before the task: the cached row would keep its sessions logged in, the author
        # card would keep its tweets on cached pages, the readers' pull sets would keep merging it.
        authcache.forget_after_commit(user_ids=[user.pk])
        transaction.on_commit(lambda: author_cards.forget(user_ids=[user_id]))
        transaction.on_commit(feedstate.pull_version_bump)
        # Its sessions end (rows too: lifting the suspension must not revive them) and its open
        # websockets close now, not at their next message or sweep. Robust: with Redis down this
        # raises, and is_active=False still logs every session out on its next request.
        transaction.on_commit(lambda: sessions_end(user_id=user_id), robust=True)
        transaction.on_commit(lambda: trends.author_adjust(author_id=user_id, sign=-1))
    return True


def account_unsuspend(*, moderator: User, user_id: int, note: str = "") -> bool:
    """Lift a suspension: the account may log in again and its tweets come back everywhere. Its
    followers' feeds take its recent tweets through the demotion backfill (readers merge them in
    meanwhile, so none is missing at any moment). False if it was not suspended."""
    _require_staff(moderator)
    note = _clean_note(note)
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user_id)
        if user.suspended_at is None:
            return False
        user.is_active, user.suspended_at = True, None
        user.save(update_fields=["is_active", "suspended_at"])
        _log(actor=moderator, action=ActionKind.UNSUSPEND, subject=user, note=note)
        if fanout_mode_begin_restore(user_id=user.pk):
            outbox.enqueue("timelines.tasks.celebrity_demote_task", user.pk)
        # Whatever the mode: replies to others come back only this way (their audience is the
        # overlap of two follower sets, which neither the author list nor the backfill knows).
        outbox.enqueue("timelines.tasks.author_replies_restore_task", user.pk)
        # The backfill reaches followers' feeds, not the account's own, which author_hide emptied of
        # its tweets: drop it, the next read rebuilds it from Postgres.
        transaction.on_commit(lambda: feeds_drop(user_ids=[user_id]), robust=True)
        transaction.on_commit(lambda: trends.author_adjust(author_id=user_id, sign=+1))
        authcache.forget_after_commit(user_ids=[user.pk])
        transaction.on_commit(lambda: author_cards.forget(user_ids=[user_id]))
        transaction.on_commit(feedstate.pull_version_bump)
    return True
