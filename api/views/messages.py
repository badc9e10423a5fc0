"""Direct messages: your conversations, one conversation's messages, send, mark read.

A conversation is addressed by the other person's username, from the caller's side, through the
messaging selectors that only ever answer a participant: no URL here names anyone else's
conversation. Tokens need the `messages` scope, even to read."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router, Status

from accounts.models import User
from api import cursors
from api.auth import authenticated, user_of
from api.models import Scope
from api.problems import Problem
from api.schemas import ConversationOut, MessageIn, MessageOut, Page, ReadResult, conversation_out, message_out
from api.views.common import errors, person
from api.views.params import Cursor, Username
from messaging import selectors, services
from messaging.views import INBOX_PAGE_SIZE, THREAD_PAGE_SIZE

router = Router(tags=["messages"])
MESSAGES = authenticated(Scope.MESSAGES)


def _other(request: HttpRequest, username: str) -> tuple[User, User]:
    user, other = user_of(request), person(username)
    if other.pk == user.pk:
        raise Problem(404, "There is no conversation with yourself.", kind="not-found")
    return user, other


@router.get("/conversations", response={200: Page[ConversationOut], **errors(403, 422)}, auth=MESSAGES)
def conversations(request: HttpRequest, cursor: Cursor = None) -> dict[str, object]:
    """Your conversations, the one with the newest message first, with unread counts."""
    page = selectors.inbox_page(user_id=user_of(request).pk, before=cursors.before(cursor), limit=INBOX_PAGE_SIZE)
    return {
        "items": [conversation_out(row) for row in page.items],
        "next_cursor": cursors.next_cursor(page.next_cursor),
    }


@router.get(
    "/conversations/{username}/messages", response={200: Page[MessageOut], **errors(403, 404, 422)}, auth=MESSAGES
)
def messages(request: HttpRequest, username: Username, cursor: Cursor = None) -> dict[str, object]:
    """Your conversation with them: the newest messages, oldest first within the page; next_cursor
    leads to older ones. Reading marks nothing read (POST .../read does)."""
    user, other = _other(request, username)
    found = selectors.conversation_between(user_id=user.pk, other_id=other.pk)
    page = selectors.thread_page(conversation=found, before=cursors.before(cursor), limit=THREAD_PAGE_SIZE)
    usernames = {user.pk: user.username, other.pk: other.username}
    items = [message_out(message, usernames=usernames) for message in page.items]
    return {"items": items, "next_cursor": cursors.next_cursor(page.next_cursor)}


@router.post(
    "/conversations/{username}/messages", response={201: MessageOut, **errors(400, 403, 404, 422)}, auth=MESSAGES
)
def send(request: HttpRequest, username: Username, payload: MessageIn) -> Status[dict[str, object]]:
    """Send them a message. Verified accounts only; their message setting may refuse you (403, in
    words); the text is checked as on the page (422); rate-limited (429)."""
    user, other = _other(request, username)
    message = services.message_send(sender=user, recipient=other, text=payload.text)
    return Status(201, message_out(message, usernames={user.pk: user.username, other.pk: other.username}))


@router.post("/conversations/{username}/read", response={200: ReadResult, **errors(400, 403, 404, 422)}, auth=MESSAGES)
def mark_read(request: HttpRequest, username: Username) -> dict[str, object]:
    """Mark your side of the conversation read, up to its newest message. Idempotent."""
    user, other = _other(request, username)
    found = selectors.conversation_between(user_id=user.pk, other_id=other.pk)
    changed = found is not None and services.conversation_mark_read(conversation=found, user=user)
    return {"changed": changed}
