"""Writes of direct messages: sending one, and marking a conversation read.

A message is stored in Postgres first; only after the commit is it pushed to the two participants'
open sockets (tweethub.realtime). The push is best effort: if it fails, the message is already
saved and every page shows it on its next load.
"""

from __future__ import annotations

import logging
import unicodedata
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import BigIntegerField, F, Value
from django.db.models.functions import Least
from django.template.loader import render_to_string

from accounts.models import User
from accounts.services import require_verified
from follows.blocks import blocked_either_way
from messaging.models import Conversation, Message
from messaging.selectors import blocked_refusal, pair, policy_refusal
from tweethub.ratelimit import hit
from tweethub.realtime import publish

logger = logging.getLogger(__name__)

# Longest message, in characters after trimming surrounding whitespace.
# Should become a setting (MESSAGE_MAX_LENGTH) when messaging gets its section in tweethub/settings/.
MESSAGE_MAX_LENGTH = 1000
# Messages one person may send per sliding window, across all conversations (tweethub.ratelimit).
# Should become a setting (RATE_LIMIT_MESSAGES_PER_USER) like the other rate limits.
MESSAGE_RATE_LIMIT = "30/1m"

EVENT_NEW = "dm.new"


class NotAllowed(PermissionDenied):
    """The sender may not message this person; the text says why, in words (a 403 page)."""


def _clean_text(text: str) -> str:
    text = text.strip()
    if "\x00" in text:
        raise ValidationError({"text": "That text contains a character messages cannot hold (NUL)."})
    if not any(unicodedata.category(char)[0] not in "ZC" for char in text):
        # Empty, or only spaces and invisible characters (zero-width, controls): nothing to show.
        raise ValidationError({"text": "Write something first."})
    if len(text) > MESSAGE_MAX_LENGTH:
        raise ValidationError(
            {"text": f"Messages are at most {MESSAGE_MAX_LENGTH} characters (this one has {len(text)})."}
        )
    return text


def message_send(*, sender: User, recipient: User, text: str) -> Message:
    """Send `text` from `sender` to `recipient`, creating their conversation on the first message.

    Checks, in order: the sender is verified (NotVerified); the recipient is someone else and
    active, and their message setting admits the sender (NotAllowed); the text is 1 to
    MESSAGE_MAX_LENGTH characters after trimming, without NUL (ValidationError on "text"); the
    sender's rate limit (RateLimited). Nothing is written when any check fails.

    Writes, in one transaction holding the conversation's row lock: the message, the
    conversation's last message and the sender's read state (what you wrote, you have read). The
    lock serialises sends within a conversation, so message ids there follow commit order and a
    client that has everything up to id N can ask for "after N" without missing a late commit.
    After commit both participants get a `dm.new` event, each rendered for its reader.
    """
    require_verified(sender)
    if recipient.pk == sender.pk:
        raise NotAllowed("You cannot send messages to yourself.")
    if not recipient.is_active:
        raise NotAllowed("That account is not active.")
    text = _clean_text(text)
    refusal = policy_refusal(sender=sender, recipient=recipient)
    if refusal is not None:
        raise NotAllowed(refusal)
    if blocked_either_way(sender.pk, recipient.pk):
        # The same words whoever blocked whom: a blocked person is not told they were blocked.
        raise NotAllowed(blocked_refusal(recipient.username))
    hit(
        scope="dm",
        key=str(sender.pk),
        rate=MESSAGE_RATE_LIMIT,
        message="You are sending messages very fast. Please wait a little.",
    )
    low, high = pair(sender.pk, recipient.pk)
    with transaction.atomic():
        # get_or_create survives two first messages racing (unique pair, retried as a get);
        # FOR UPDATE then holds the row until commit.
        conversation, _ = Conversation.objects.select_for_update().get_or_create(user_low_id=low, user_high_id=high)
        message = Message.objects.create(conversation=conversation, sender=sender, text=text)
        Conversation.objects.filter(pk=conversation.pk).update(
            last_message=message, **{conversation.last_read_field(sender.pk): message.pk}
        )
        # robust: a push that fails (channel layer down) is logged and must not turn a saved
        # message into an error for the sender, who would then send it again.
        transaction.on_commit(lambda: _announce(message=message, sender=sender, recipient=recipient), robust=True)
    return message


def render_message(*, message: Message, viewer: User, other: User) -> str:
    """One message bubble as `viewer` sees it in their conversation with `other` (escaped HTML)."""
    return render_to_string("messaging/_message.html", {"message": message, "viewer_id": viewer.pk, "other": other})


def message_payload(*, message: Message, viewer: User, other: User) -> dict[str, Any]:
    """What `viewer`'s sockets receive about `message` of their conversation with `other`."""
    sender = viewer if message.sender_id == viewer.pk else other
    return {
        "id": message.pk,
        "conversation_id": message.conversation_id,
        "with": other.username,
        "sender": sender.username,
        "text": message.text,
        "created_at": message.created_at.isoformat(),
        "html": render_message(message=message, viewer=viewer, other=other),
    }


def _announce(*, message: Message, sender: User, recipient: User) -> None:
    # Runs after commit, so publish() sends at once. Each side gets its own rendering (whose
    # bubble is "mine" differs), and only the two participants are ever named as recipients.
    for viewer, other in ((sender, recipient), (recipient, sender)):
        publish(
            event=EVENT_NEW, payload=message_payload(message=message, viewer=viewer, other=other), user_ids=[viewer.pk]
        )


def conversation_mark_read(*, conversation: Conversation, user: User, up_to: int | None = None) -> bool:
    """Mark `user`'s side of `conversation` read up to message `up_to` (default: the newest).

    Never beyond the conversation's newest message (a client cannot pre-read future messages) and
    never backwards, so it is idempotent and safe to call on every page view: when there is
    nothing new to mark it matches no row and writes nothing. One statement, no lock held.
    Returns whether anything changed. PermissionDenied for anyone outside the conversation.
    """
    if not conversation.has_participant(user.pk):
        raise PermissionDenied("That is not your conversation.")
    field = conversation.last_read_field(user.pk)
    target = (
        F("last_message_id")
        if up_to is None
        else Least(F("last_message_id"), Value(up_to), output_field=BigIntegerField())
    )
    updated = Conversation.objects.filter(
        pk=conversation.pk, last_message__isnull=False, **{f"{field}__lt": target}
    ).update(**{field: target})
    return updated > 0
