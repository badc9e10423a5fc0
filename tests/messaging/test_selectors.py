"""messaging.selectors: the inbox (order, unread counts, constant queries) and conversation pages."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from accounts.models import User
from messaging.models import Conversation, Message
from messaging.selectors import inbox_page, messages_after, thread_page
from messaging.services import conversation_mark_read, message_send
from tests.factories import make_user

pytestmark = pytest.mark.django_db


def _conversation(a: User, b: User) -> Conversation:
    low, high = sorted([a.pk, b.pk])
    return Conversation.objects.get(user_low_id=low, user_high_id=high)


def test_inbox_lists_newest_conversation_first_with_last_message_and_unread_counts() -> None:
    me, ann, bob, cat = make_user("me"), make_user("ann"), make_user("bob"), make_user("cat")
    message_send(sender=ann, recipient=me, text="ann 1")
    message_send(sender=bob, recipient=me, text="bob 1")
    message_send(sender=ann, recipient=me, text="ann 2")
    message_send(sender=me, recipient=cat, text="hello cat")
    message_send(sender=bob, recipient=cat, text="not mine to see")

    page = inbox_page(user_id=me.pk, before=None, limit=10)

    assert [(row.other.username, row.last_message.text, row.unread) for row in page.items] == [
        ("cat", "hello cat", 0),  # I wrote last: nothing unread
        ("ann", "ann 2", 2),
        ("bob", "bob 1", 1),
    ]
    assert page.next_cursor is None

    # Someone who deactivates their account leaves the inbox (their pages are 404 too).
    User.objects.filter(pk=bob.pk).update(is_active=False)
    assert [row.other.username for row in inbox_page(user_id=me.pk, before=None, limit=10).items] == ["cat", "ann"]


def test_unread_counts_only_the_other_persons_messages_after_my_read_mark() -> None:
    me, ann = make_user("me"), make_user("ann")
    message_send(sender=ann, recipient=me, text="one")
    message_send(sender=ann, recipient=me, text="two")
    conversation_mark_read(conversation=_conversation(me, ann), user=me)
    message_send(sender=ann, recipient=me, text="three")
    (row,) = inbox_page(user_id=me.pk, before=None, limit=10).items
    assert row.unread == 1
    # Answering marks everything before my answer read.
    message_send(sender=me, recipient=ann, text="hi")
    (row,) = inbox_page(user_id=me.pk, before=None, limit=10).items
    assert row.unread == 0
    (ann_row,) = inbox_page(user_id=ann.pk, before=None, limit=10).items
    assert ann_row.unread == 1


def test_inbox_pages_follow_the_cursor_without_gaps_or_repeats() -> None:
    me = make_user("me")
    people = [make_user(f"p{n}") for n in range(7)]
    for person in people:
        message_send(sender=person, recipient=me, text=f"from {person.username}")
    seen: list[str] = []
    before = None
    while True:
        page = inbox_page(user_id=me.pk, before=before, limit=3)
        seen += [row.other.username for row in page.items]
        if page.next_cursor is None:
            break
        before = page.next_cursor
    assert seen == [person.username for person in reversed(people)]


@pytest.mark.usefixtures("generous_rate_limit")
@pytest.mark.parametrize("conversations", [1, 12])
def test_inbox_costs_one_query_however_many_conversations(
    conversations: int, django_assert_max_num_queries: Any
) -> None:
    me = make_user("me")
    for n in range(conversations):
        other = make_user(f"p{n}")
        message_send(sender=other, recipient=me, text="hello")
        message_send(sender=me, recipient=other, text="hi")
        message_send(sender=other, recipient=me, text="how are you?")
    with django_assert_max_num_queries(1):
        page = inbox_page(user_id=me.pk, before=None, limit=20)
        rendered = [(row.other.name, row.last_message.text, row.unread) for row in page.items]
    assert len(rendered) == conversations
    assert {unread for _, _, unread in rendered} == {1}


def test_thread_pages_newest_last_with_a_cursor_to_older_messages() -> None:
    ann, bob = make_user("ann"), make_user("bob")
    for n in range(5):
        message_send(sender=ann if n % 2 else bob, recipient=bob if n % 2 else ann, text=f"m{n}")
    conversation = _conversation(ann, bob)

    latest = thread_page(conversation=conversation, before=None, limit=2)
    assert [message.text for message in latest.items] == ["m3", "m4"]
    assert latest.next_cursor is not None
    older = thread_page(conversation=conversation, before=latest.next_cursor, limit=2)
    assert [message.text for message in older.items] == ["m1", "m2"]
    oldest = thread_page(conversation=conversation, before=older.next_cursor, limit=2)
    assert [message.text for message in oldest.items] == ["m0"]
    assert oldest.next_cursor is None
    assert thread_page(conversation=None, before=None, limit=2).items == []


def test_messages_after_returns_what_a_page_is_missing_oldest_first() -> None:
    ann, bob = make_user("ann"), make_user("bob")
    sent = [message_send(sender=ann, recipient=bob, text=f"m{n}") for n in range(4)]
    conversation = _conversation(ann, bob)
    # m0 was written long before the page's newest (m1), past the grace: it does not come back; m1
    # does (written within the grace of itself: the page skips it), and what is newer.
    Message.objects.filter(pk=sent[0].pk).update(created_at=timezone.now() - timedelta(minutes=5))
    assert [m.text for m in messages_after(conversation=conversation, after=sent[1].pk, limit=10)] == [
        "m1",
        "m2",
        "m3",
    ]
    assert [m.text for m in messages_after(conversation=conversation, after=0, limit=2)] == ["m2", "m3"]
    assert messages_after(conversation=None, after=0, limit=10) == []
    assert Message.objects.count() == 4


def test_a_message_committed_late_with_a_lower_id_is_still_caught_up() -> None:
    """Two people write at once: the first message's transaction commits after the second's, so a
    page can hold the higher id and not the lower one. A catch-up from the page's newest id alone
    would never return it; the grace looks CATCH_UP_GRACE further back (the page skips what it has)."""
    ann, bob = make_user("ann"), make_user("bob")
    late = message_send(sender=ann, recipient=bob, text="committed late")
    newest = message_send(sender=bob, recipient=ann, text="seen live")
    conversation = _conversation(ann, bob)
    caught_up = messages_after(conversation=conversation, after=newest.pk, limit=10)
    assert late in caught_up
    assert caught_up == sorted(caught_up, key=lambda m: m.pk)
