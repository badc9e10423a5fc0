"""Direct messages over the websocket: send, mark read, and catch up after a reconnect.

Client messages (accounts.consumers dispatches them here):
    {"type": "dm.send", "to": <username>, "text": <text>}       -> dm.sent | dm.error
    {"type": "dm.read", "with": <username>, "up_to": <id>?}     -> dm.marked_read | dm.error
    {"type": "dm.catch_up", "with": <username>, "after": <id>}  -> dm.catch_up | dm.error

Each one names the *other* person; the conversation is always the socket user's own with them,
so no message can reach or reveal a conversation the user is not part of. Handlers never raise
for anything a client can cause: refusals come back as dm.error with a readable message. Who hears
about a new message is decided by messaging.services (the two participants), not here.
"""

from __future__ import annotations

from typing import Any

from channels.db import database_sync_to_async
from django.core.exceptions import PermissionDenied, ValidationError

from accounts.consumers import handles
from accounts.models import User
from accounts.selectors import profile_by_username
from messaging import selectors, services
from tweethub.ids import MAX_ID
from tweethub.ratelimit import RateLimited
from tweethub.usernames import USERNAME_PATTERN

# Most messages a catch-up returns; a client away longer reloads the page to see the rest.
CATCH_UP_LIMIT = 50


def _error(message: str, *, with_: str | None = None) -> dict[str, Any]:
    payload: dict[str, Any] = {"message": message}
    if with_ is not None:
        payload["with"] = with_
    return {"event": "dm.error", "payload": payload}


def _message_id(raw: Any) -> int | None:
    if isinstance(raw, int) and not isinstance(raw, bool) and 0 <= raw <= MAX_ID:
        return raw
    return None


def _people(user: Any, username: Any) -> tuple[User, User] | None:
    """The socket's user, fresh from the database (the socket may be older than a verification or
    a deactivation), and the other person; None when either is missing or they are the same."""
    me = User.objects.filter(pk=user.pk, is_active=True).first()
    # Not a username (a NUL, which Postgres refuses in a query, among others): nobody to look up.
    if me is None or not isinstance(username, str) or not USERNAME_PATTERN.fullmatch(username):
        return None
    try:
        other = profile_by_username(username)
    except User.DoesNotExist:
        return None
    return None if other.pk == me.pk else (me, other)


def send(user: Any, content: dict[str, Any]) -> dict[str, Any]:
    to, text = content.get("to"), content.get("text")
    people = _people(user, to)
    if people is None:
        return _error("There is nobody to send that to.", with_=to if isinstance(to, str) else None)
    me, other = people
    if not isinstance(text, str):
        return _error("Write something first.", with_=other.username)
    try:
        message = services.message_send(sender=me, recipient=other, text=text)
    except ValidationError as error:
        return _error(" ".join(error.messages), with_=other.username)
    except (PermissionDenied, RateLimited) as error:  # NotVerified and NotAllowed are PermissionDenied
        return _error(str(getattr(error, "message", None) or error), with_=other.username)
    return {"event": "dm.sent", "payload": services.message_payload(message=message, viewer=me, other=other)}


def mark_read(user: Any, content: dict[str, Any]) -> dict[str, Any]:
    people = _people(user, content.get("with"))
    if people is None:
        return _error("There is no such conversation.")
    me, other = people
    conversation = selectors.conversation_between(user_id=me.pk, other_id=other.pk)
    if conversation is not None:
        services.conversation_mark_read(conversation=conversation, user=me, up_to=_message_id(content.get("up_to")))
    return {"event": "dm.marked_read", "payload": {"with": other.username}}


def catch_up(user: Any, content: dict[str, Any]) -> dict[str, Any]:
    people = _people(user, content.get("with"))
    if people is None:
        return _error("There is no such conversation.")
    me, other = people
    conversation = selectors.conversation_between(user_id=me.pk, other_id=other.pk)
    after = _message_id(content.get("after")) or 0
    messages = selectors.messages_after(conversation=conversation, after=after, limit=CATCH_UP_LIMIT)
    return {
        "event": "dm.catch_up",
        "payload": {
            "with": other.username,
            "messages": [services.message_payload(message=message, viewer=me, other=other) for message in messages],
        },
    }


@handles("dm.send")
async def handle_send(user: Any, content: dict[str, Any]) -> dict[str, Any]:
    reply: dict[str, Any] = await database_sync_to_async(send)(user, content)
    return reply


@handles("dm.read")
async def handle_read(user: Any, content: dict[str, Any]) -> dict[str, Any]:
    reply: dict[str, Any] = await database_sync_to_async(mark_read)(user, content)
    return reply


@handles("dm.catch_up")
async def handle_catch_up(user: Any, content: dict[str, Any]) -> dict[str, Any]:
    reply: dict[str, Any] = await database_sync_to_async(catch_up)(user, content)
    return reply
