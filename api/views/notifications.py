"""Notifications: the caller's own list (grouped as the page groups them), mark all read, and the
unread badges.

Over notifications.selectors (notifications_page, badge_counts, newest_seq) and
notifications.services.notifications_mark_all_read, the calls /notifications/ and every page's
badges make: grouping, the accounts left out (blocked either way, muted), the cached counts all live
there. No operation takes anyone's id: a token reads and marks its own user's notifications only."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.http import HttpRequest
from ninja import Router
from pydantic import Field

from api import cursors
from api.auth import authenticated, user_of
from api.models import Scope
from api.schemas import Author, Page, Schema, TweetOut, author_out, tweets_out
from api.views.common import errors
from api.views.params import Cursor
from notifications import selectors, services
from notifications.models import Kind
from notifications.selectors import NotificationRow

router = Router(tags=["notifications"])


class NotificationOut(Schema):
    id: int
    kind: str = Field(description=f"One of: {', '.join(Kind.values)}.")
    actors: list[Author] = Field(description="Who did it, newest first (at most 3 are named).")
    count: int = Field(description='How many did it (or messages sent), for "Ana and 3 others".')
    tweet: TweetOut | None = Field(description="The tweet it is about; null for follows and messages.")
    unread: bool
    updated_at: datetime


class MarkedRead(Schema):
    marked: int = Field(description="How many notifications this call marked read (0: none were unread).")


class BadgesOut(Schema):
    notifications: int = Field(description=f"Unread notifications, counted up to {selectors.BADGE_CAP + 1}.")
    messages: int = Field(description=f"Conversations with unread messages, up to {selectors.BADGE_CAP + 1}.")


def _out(rows: list[NotificationRow], viewer_id: int) -> list[dict[str, object]]:
    cards = [row.tweet for row in rows if row.tweet is not None]
    shaped = iter(tweets_out(cards, viewer_id=viewer_id))
    return [
        {
            "id": row.notification.pk,
            "kind": row.notification.kind,
            "actors": [author_out(actor) for actor in row.actors],
            "count": row.notification.event_count,
            "tweet": next(shaped) if row.tweet is not None else None,
            "unread": row.notification.unread,
            "updated_at": row.notification.updated_at,
        }
        for row in rows
    ]


@router.get(
    "/me/notifications", response={200: Page[NotificationOut], **errors(403, 422)}, auth=authenticated(Scope.READ)
)
def my_notifications(request: HttpRequest, cursor: Cursor = None) -> dict[str, object]:
    """Your notifications, the most recently changed group first, grouped as /notifications/
    shows them (likes and reposts per tweet, follows together; a reply, mention or quote each on
    its own); accounts you blocked, that blocked you or that you muted are left out. Reading does
    not mark them read."""
    user = user_of(request)
    page = selectors.notifications_page(
        user_id=user.pk, before=cursors.before(cursor), limit=settings.NOTIFICATIONS_PAGE_SIZE
    )
    return {"items": _out(page.items, user.pk), "next_cursor": cursors.next_cursor(page.next_cursor)}


@router.post("/me/notifications/read", response={200: MarkedRead, **errors(400, 403)}, auth=authenticated(Scope.WRITE))
def mark_notifications_read(request: HttpRequest) -> dict[str, object]:
    """Mark all your notifications read ("Mark all read"). Idempotent; yours only."""
    return {"marked": services.notifications_mark_all_read(user=user_of(request))}


@router.get("/me/badges", response={200: BadgesOut, **errors(403)}, auth=authenticated(Scope.READ))
def my_badges(request: HttpRequest) -> dict[str, object]:
    """Your unread counts, as the pages' badges show them."""
    counts = selectors.badge_counts(user_of(request).pk)
    return {"notifications": counts.notifications, "messages": counts.messages}
