"""Reads of the staff pages: the report queue with each item in context, the audit log, the user
list. Each page costs a constant number of queries, whatever its length (tests pin them)."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.postgres.search import TrigramWordSimilarity
from django.db import connection
from django.db.models import Count, Q
from django.db.models.functions import Greatest, Lower
from django.urls import reverse

from accounts.models import User, UserStats
from accounts.selectors import stats_of
from messaging.models import Message
from moderation.models import ModerationAction, Report, ReportKind, ReportStatus
from tweethub.paging import Page, older_than
from tweets.models import Tweet

QUEUE_PAGE = 25
LOG_PAGE = 50
USERS_PAGE = 50
CONTEXT_MESSAGES = 2  # messages shown on each side of a reported one


@dataclass(frozen=True)
class QueueItem:
    report: Report
    others: int  # further open reports about the same item
    tweet_exists: bool  # a reported tweet is still there (staff may delete it)
    thread: list[Message]  # a reported message with its neighbours, oldest first
    subject_tweets: int


def open_reports(*, limit: int = QUEUE_PAGE) -> list[QueueItem]:
    """Open reports, oldest first (the longest waiting first), one row per reported item with how
    many more reports it has. Five queries, whatever the page holds."""
    open_ = Report.objects.filter(status=ReportStatus.OPEN)
    # The oldest open report of each item stands for the item.
    firsts = (
        open_.order_by("kind", "subject_id", "tweet_id", "message_id", "id")
        .distinct("kind", "subject_id", "tweet_id", "message_id")
        .values("id")
    )
    reports = list(Report.objects.filter(id__in=firsts).select_related("reporter", "subject").order_by("id")[:limit])
    counts = {
        (row["kind"], row["subject_id"], row["tweet_id"], row["message_id"]): row["n"]
        for row in open_.filter(subject_id__in={r.subject_id for r in reports})
        .values("kind", "subject_id", "tweet_id", "message_id")
        .annotate(n=Count("id"))
    }
    tweet_ids = [r.tweet_id for r in reports if r.tweet_id is not None]
    existing = set(Tweet.objects.filter(id__in=tweet_ids).values_list("id", flat=True))
    threads = _threads([r.message_id for r in reports if r.message_id is not None])
    stats = {s.user_id: s.tweets for s in UserStats.objects.filter(user_id__in={r.subject_id for r in reports})}
    return [
        QueueItem(
            report=r,
            others=counts.get((r.kind, r.subject_id, r.tweet_id, r.message_id), 1) - 1,
            tweet_exists=r.tweet_id in existing,
            thread=threads.get(r.message_id, []) if r.message_id is not None else [],
            subject_tweets=stats.get(r.subject_id, 0),
        )
        for r in reports
    ]


def _threads(message_ids: list[int]) -> dict[int, list[Message]]:
    """Each reported message with up to CONTEXT_MESSAGES before and after it in its conversation:
    what staff need to judge it. Two queries: the neighbours' ids through two index scans per
    reported message (LATERAL, index messaging_message_conv_id_desc), then their rows."""
    if not message_ids:
        return {}
    table = Message._meta.db_table
    sql = f"""
        SELECT r.id, n.id FROM unnest(%s::bigint[]) AS r(id)
        JOIN {table} rm ON rm.id = r.id
        CROSS JOIN LATERAL (
            (SELECT id FROM {table} WHERE conversation_id = rm.conversation_id AND id <= rm.id
             ORDER BY id DESC LIMIT %s)
            UNION ALL
            (SELECT id FROM {table} WHERE conversation_id = rm.conversation_id AND id > rm.id
             ORDER BY id LIMIT %s)
        ) AS n
    """  # noqa: S608 (table name from the model, values bound)
    with connection.cursor() as cursor:
        cursor.execute(sql, [list(message_ids), CONTEXT_MESSAGES + 1, CONTEXT_MESSAGES])
        pairs = cursor.fetchall()
    rows = Message.objects.select_related("sender").in_bulk({neighbour for _, neighbour in pairs})
    threads: dict[int, list[Message]] = {}
    for reported, neighbour in pairs:
        threads.setdefault(reported, []).append(rows[neighbour])
    for thread in threads.values():
        thread.sort(key=lambda message: message.pk)
    return threads


def open_report_count() -> int:
    return Report.objects.filter(status=ReportStatus.OPEN).count()


def audit_log(*, before: int | None, limit: int = LOG_PAGE) -> Page[ModerationAction, int]:
    """Staff actions, newest first, older than the cursor (an action id). One query."""
    return older_than(ModerationAction.objects.all(), before=before, limit=limit)


@dataclass(frozen=True)
class UserRow:
    user: User
    tweets: int
    followers: int
    following: int
    open_reports: int


def staff_user_list(*, query: str, status: str, before: int | None, limit: int = USERS_PAGE) -> Page[UserRow, int]:
    """Accounts for staff, newest sign-up first (paged by user id), or best match first when
    searching (username, display name or email: one page, no cursor); `status`: "" (all),
    "suspended", "unverified", "staff". Three queries."""
    users = User.objects.all()
    if status == "suspended":
        users = users.filter(suspended_at__isnull=False)
    elif status == "unverified":
        users = users.filter(verified_at__isnull=True)
    elif status == "staff":
        users = users.filter(is_staff=True)
    query = query.strip()
    if query:
        lowered = query.lower().lstrip("@")
        # LOWER(col) LIKE '%q%' is what the trigram indexes on lower(username) and lower(name)
        # serve (people search's indexes), and lower(email) has its unique index.
        matches = (
            users.alias(lu=Lower("username"), ln=Lower("name"), le=Lower("email"))
            .filter(Q(lu__contains=lowered) | Q(ln__contains=lowered) | Q(le=query.lower()))
            .annotate(
                similarity=Greatest(
                    TrigramWordSimilarity(lowered, Lower("username")), TrigramWordSimilarity(lowered, Lower("name"))
                )
            )
            .order_by("-similarity", "-id")
        )
        page = Page[User, int](items=list(matches[:limit]), next_cursor=None)  # the best matches, not pages
    else:
        page = older_than(users, before=before, limit=limit)
    ids = [user.pk for user in page.items]
    # Exact counts (follower changes not folded yet included), one query like before.
    stats = stats_of(ids)
    reports = dict(
        Report.objects.filter(subject_id__in=ids, status=ReportStatus.OPEN)
        .values("subject_id")
        .annotate(n=Count("id"))
        .values_list("subject_id", "n")
    )
    result = []
    for user in page.items:
        counts = stats.get(user.pk) or UserStats(user_id=user.pk)
        result.append(
            UserRow(
                user=user,
                tweets=counts.tweets,
                followers=counts.followers,
                following=counts.following,
                open_reports=reports.get(user.pk, 0),
            )
        )
    return page.with_items(result)


@dataclass(frozen=True)
class ReportTarget:
    """What a report form shows of the item being reported, and where "Cancel" leads back to."""

    kind: str
    target_id: int
    subject: User
    text: str
    back_url: str


def report_target(*, kind: str, target_id: int, viewer: User) -> ReportTarget:
    """The item `viewer` may report: a visible tweet, an active profile, or a message of one of
    the viewer's own conversations. ObjectDoesNotExist otherwise (a 404: a message of someone
    else's conversation is not even confirmed to exist)."""
    if kind == ReportKind.TWEET:
        tweet = Tweet.objects.visible().select_related("author").get(pk=target_id)
        return ReportTarget(kind, tweet.pk, tweet.author, tweet.text, reverse("tweets:detail", args=[tweet.pk]))
    if kind == ReportKind.PROFILE:
        user = User.objects.get(pk=target_id, is_active=True)
        return ReportTarget(kind, user.pk, user, user.bio, reverse("profile", args=[user.username]))
    if kind == ReportKind.MESSAGE:
        message = Message.objects.select_related("conversation", "sender").get(pk=target_id)
        if not message.conversation.has_participant(viewer.pk):
            raise Message.DoesNotExist("not one of the viewer's conversations")
        other = User.objects.get(pk=message.conversation.other_id(viewer.pk))
        back_url = reverse("messaging:conversation", args=[other.username])
        return ReportTarget(kind, message.pk, message.sender, message.text, back_url)
    raise Report.DoesNotExist(f"no report kind {kind!r}")
