"""Reads of direct messages: the inbox, a conversation's pages, and who may message whom.

Every read is addressed from a participant's side: a conversation is found by the pair (viewer,
other person) or by id *and* participant, so no function here can hand one pair's messages to a
third person. Each page costs a constant number of queries, whatever its length.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.db.models import (
    Case,
    Count,
    DateTimeField,
    ExpressionWrapper,
    F,
    IntegerField,
    OuterRef,
    Q,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce

from accounts.models import DmPolicy, User
from follows.blocks import blocked_either_way
from follows.selectors import is_following
from messaging.models import Conversation, Message
from tweethub.paging import Page, older_than

# How far before a catch-up's `after` message it looks again (see messages_after).
CATCH_UP_GRACE = timedelta(seconds=10)


def pair(user_id: int, other_id: int) -> tuple[int, int]:
    """The canonical (user_low, user_high) of two distinct users."""
    return (user_id, other_id) if user_id < other_id else (other_id, user_id)


def conversation_between(*, user_id: int, other_id: int) -> Conversation | None:
    """The conversation of these two people, or None if neither has written yet. One query."""
    low, high = pair(user_id, other_id)
    return Conversation.objects.filter(user_low_id=low, user_high_id=high).first()


def conversation_of_participant(*, conversation_id: int, user_id: int) -> Conversation:
    """The conversation `conversation_id` if `user_id` takes part in it, both people joined in.

    Conversation.DoesNotExist otherwise, exactly as for an id that does not exist: an outsider
    learns nothing, not even that the conversation exists.
    """
    return Conversation.objects.select_related("user_low", "user_high").get(
        Q(user_low_id=user_id) | Q(user_high_id=user_id), pk=conversation_id
    )


# Messages oldest first, the way a conversation reads; the cursor (?before=, a message id) leads to
# the older messages, None when the page reaches the first one.
ThreadPage = Page[Message, int]


def thread_page(*, conversation: Conversation | None, before: int | None, limit: int) -> ThreadPage:
    """The newest `limit` messages older than `before` (a message id), or the newest overall.

    One query (served by messaging_message_conv_id_desc); None (no conversation yet) costs none.
    Messages come without their sender row: the page knows both participants already.
    """
    if conversation is None:
        return ThreadPage(items=[], next_cursor=None)
    newest_first = older_than(Message.objects.filter(conversation_id=conversation.pk), before=before, limit=limit)
    return newest_first.with_items(newest_first.items[::-1])


def messages_after(*, conversation: Conversation | None, after: int, limit: int) -> list[Message]:
    """Messages newer than `after` (a message id), oldest first, at most the `limit` newest: what a
    page that shows everything up to `after` is missing (after a websocket reconnect, or when told
    to catch up). Also those written up to CATCH_UP_GRACE before `after` (the page skips what it
    shows): a message takes its id when inserted but becomes visible at commit, so one committed a
    moment late can carry an id below the newest a page already holds (two people writing at once;
    the chaos test lost one that way), and asking for ids above it alone would never return it."""
    if conversation is None:
        return []
    anchor = Message.objects.filter(pk=after).values("created_at")[:1]
    since = ExpressionWrapper(Subquery(anchor) - Value(CATCH_UP_GRACE), output_field=DateTimeField())
    rows = (
        Message.objects.filter(conversation_id=conversation.pk)
        .filter(Q(id__gt=after) | Q(created_at__gte=since))
        .order_by("-id")[:limit]
    )
    return list(rows)[::-1]


@dataclass(frozen=True)
class InboxRow:
    conversation: Conversation
    other: User
    last_message: Message
    # Messages from `other` the viewer has not read yet.
    unread: int


# The cursor (?before=) is the last row's last message id.
InboxPage = Page[InboxRow, int]


def inbox_page(*, user_id: int, before: int | None, limit: int) -> InboxPage:
    """The user's conversations, the one with the newest message first, each with the other
    person, the last message and the unread count. One query, whatever `limit` is.

    `before` is the last_message id of the last row of the previous page: message ids grow with
    time and are unique, so the order is total and a page boundary never skips or repeats a row.
    """
    my_last_read = Case(
        When(user_low_id=user_id, then=F("low_last_read_id")),
        default=F("high_last_read_id"),
    )
    unread = (
        Message.objects.filter(conversation_id=OuterRef("pk"), id__gt=OuterRef("my_last_read"))
        .exclude(sender_id=user_id)
        .order_by()
        .values("conversation_id")
        .annotate(n=Count("id"))
        .values("n")
    )
    queryset = (
        # Conversations with deactivated accounts leave the list, as those accounts' pages do.
        Conversation.objects.filter(
            Q(user_low_id=user_id, user_high__is_active=True) | Q(user_high_id=user_id, user_low__is_active=True),
            last_message__isnull=False,
        )
        .annotate(my_last_read=my_last_read)
        .annotate(unread=Coalesce(Subquery(unread, output_field=IntegerField()), 0))
        .select_related("user_low", "user_high", "last_message")
    )
    conversations = older_than(queryset, before=before, limit=limit, key="last_message_id")
    rows = []
    for conversation in conversations.items:
        other = conversation.user_high if conversation.user_low_id == user_id else conversation.user_low
        assert conversation.last_message is not None  # filtered above
        rows.append(
            InboxRow(
                conversation=conversation,
                other=other,
                last_message=conversation.last_message,
                unread=conversation.unread,
            )
        )
    return conversations.with_items(rows)


def policy_refusal(*, sender: User, recipient: User) -> str | None:
    """Why `recipient`'s message setting refuses `sender`, in words; None when it allows them.

    "Only people I follow" admits the people the recipient follows, and anyone the recipient has
    already written to: a person who starts a conversation can always be answered. At most two
    small indexed queries, none for recipients who accept everyone.
    """
    if recipient.dm_policy != DmPolicy.FOLLOWING:
        return None
    if is_following(follower_id=recipient.pk, followee_id=sender.pk):
        return None
    low, high = pair(sender.pk, recipient.pk)
    wrote_first = Message.objects.filter(
        conversation__user_low_id=low, conversation__user_high_id=high, sender_id=recipient.pk
    ).exists()
    if wrote_first:
        return None
    return f"@{recipient.username} only accepts messages from people they follow."


def blocked_refusal(username: str) -> str:
    """The words for a block either way: the same whoever blocked whom (a blocked person is not
    told who did it by this message; the profile says so anyway)."""
    return f"You cannot send messages to @{username}."


def send_refusal(*, sender: User, recipient: User) -> str | None:
    """Why `sender` cannot write to `recipient`, in words, for the conversation page to show
    instead of the box (a block either way, then the message setting); None when they can.
    message_send checks the same. One indexed query for the block, plus policy_refusal's."""
    if blocked_either_way(sender.pk, recipient.pk):
        return blocked_refusal(recipient.username)
    return policy_refusal(sender=sender, recipient=recipient)
