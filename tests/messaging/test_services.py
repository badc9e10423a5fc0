"""messaging.services: who may send what to whom, what is written, and read state."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from accounts.models import DmPolicy
from accounts.services import NotVerified
from follows.models import Follow
from follows.services import block_create
from messaging import services
from messaging.models import Conversation, Message
from messaging.services import MESSAGE_MAX_LENGTH, NotAllowed, conversation_mark_read, message_send
from tests.factories import make_user
from tweethub.ratelimit import RateLimited

pytestmark = pytest.mark.django_db


def test_first_message_creates_one_canonical_conversation_from_either_side() -> None:
    ann, bob = make_user("ann"), make_user("bob")
    first = message_send(sender=bob, recipient=ann, text="  hi Ann  ")
    second = message_send(sender=ann, recipient=bob, text="hi Bob")

    conversation = Conversation.objects.get()
    assert (conversation.user_low_id, conversation.user_high_id) == (min(ann.pk, bob.pk), max(ann.pk, bob.pk))
    assert conversation.last_message_id == second.pk
    assert first.text == "hi Ann"  # trimmed
    assert first.conversation_id == second.conversation_id == conversation.pk
    # Each sender has read what they wrote; nobody has read anything newer.
    assert getattr(conversation, conversation.last_read_field(bob.pk)) == first.pk
    assert getattr(conversation, conversation.last_read_field(ann.pk)) == second.pk


def test_policy_everyone_admits_strangers() -> None:
    ann, bob = make_user("ann"), make_user("bob")
    message_send(sender=ann, recipient=bob, text="hello")
    assert Message.objects.count() == 1


def test_policy_following_admits_only_people_the_recipient_follows() -> None:
    ann, bob = make_user("ann"), make_user("bob", dm_policy=DmPolicy.FOLLOWING)
    with pytest.raises(NotAllowed, match="@bob only accepts messages from people they follow"):
        message_send(sender=ann, recipient=bob, text="hello")
    assert not Message.objects.exists()
    assert not Conversation.objects.exists()

    # Ann following Bob does not help: it is Bob's choice whom he hears from.
    Follow.objects.create(follower=ann, followee=bob)
    with pytest.raises(NotAllowed):
        message_send(sender=ann, recipient=bob, text="hello")

    Follow.objects.create(follower=bob, followee=ann)
    message_send(sender=ann, recipient=bob, text="hello")
    assert Message.objects.count() == 1


def test_policy_following_still_lets_people_answer_whom_you_wrote_to() -> None:
    ann, bob = make_user("ann"), make_user("bob", dm_policy=DmPolicy.FOLLOWING)
    message_send(sender=bob, recipient=ann, text="are you coming?")
    message_send(sender=ann, recipient=bob, text="yes!")
    assert list(Message.objects.order_by("id").values_list("text", flat=True)) == ["are you coming?", "yes!"]


@pytest.mark.parametrize("blocker", ["sender", "recipient"])
def test_a_block_either_way_stops_messages_and_writes_nothing(blocker: str) -> None:
    ann, ben = make_user("ann"), make_user("ben")
    message_send(sender=ann, recipient=ben, text="before")
    if blocker == "sender":
        block_create(blocker=ann, blocked=ben)
    else:
        block_create(blocker=ben, blocked=ann)
    with pytest.raises(NotAllowed, match="You cannot send messages to @ben"):
        message_send(sender=ann, recipient=ben, text="after")
    assert list(Message.objects.values_list("text", flat=True)) == ["before"]


def test_unverified_users_cannot_send() -> None:
    ann, bob = make_user("ann", verified=False), make_user("bob")
    with pytest.raises(NotVerified):
        message_send(sender=ann, recipient=bob, text="hello")
    assert not Message.objects.exists()
    assert not Conversation.objects.exists()


def test_nobody_messages_themselves_or_an_inactive_account() -> None:
    ann, gone = make_user("ann"), make_user("gone", is_active=False)
    with pytest.raises(NotAllowed, match="yourself"):
        message_send(sender=ann, recipient=ann, text="note to self")
    with pytest.raises(NotAllowed, match="not active"):
        message_send(sender=ann, recipient=gone, text="hello?")
    assert not Message.objects.exists()


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("", "Write something first."),
        (" \n\t ", "Write something first."),
        ("\u200b\u200b", "Write something first."),
        ("x" * (MESSAGE_MAX_LENGTH + 1), f"Messages are at most {MESSAGE_MAX_LENGTH} characters (this one has 1001)."),
        ("a\x00b", "That text contains a character messages cannot hold (NUL)."),
    ],
)
def test_refused_texts_say_why_and_write_nothing(text: str, error: str) -> None:
    ann, bob = make_user("ann"), make_user("bob")
    with pytest.raises(ValidationError) as refused:
        message_send(sender=ann, recipient=bob, text=text)
    assert refused.value.message_dict == {"text": [error]}
    assert not Message.objects.exists()
    assert not Conversation.objects.exists()


def test_longest_message_counts_characters_after_trimming() -> None:
    ann, bob = make_user("ann"), make_user("bob")
    text = "é" * (MESSAGE_MAX_LENGTH - 1) + "🙂"
    message = message_send(sender=ann, recipient=bob, text=f"\n  {text}  \n")
    assert message.text == text


def test_rate_limited_per_sender_across_conversations() -> None:
    ann, bob, cat = make_user("ann"), make_user("bob"), make_user("cat")
    allowed = int(services.MESSAGE_RATE_LIMIT.split("/")[0])
    for n in range(allowed):
        message_send(sender=ann, recipient=bob if n % 2 else cat, text=f"message {n}")
    with pytest.raises(RateLimited, match="very fast"):
        message_send(sender=ann, recipient=bob, text="one too many")
    assert Message.objects.count() == allowed
    # Bob has his own allowance.
    message_send(sender=bob, recipient=ann, text="slow down")


def test_mark_read_moves_forward_only_and_never_past_the_newest_message() -> None:
    ann, bob = make_user("ann"), make_user("bob")
    first = message_send(sender=ann, recipient=bob, text="one")
    second = message_send(sender=ann, recipient=bob, text="two")
    conversation = Conversation.objects.get()
    field = conversation.last_read_field(bob.pk)

    assert conversation_mark_read(conversation=conversation, user=bob, up_to=first.pk)
    assert getattr(Conversation.objects.get(), field) == first.pk
    # A client claiming to have read far ahead marks only what exists.
    assert conversation_mark_read(conversation=conversation, user=bob, up_to=second.pk + 10_000)
    assert getattr(Conversation.objects.get(), field) == second.pk
    # Going back, or repeating, changes nothing.
    assert not conversation_mark_read(conversation=conversation, user=bob, up_to=first.pk)
    assert not conversation_mark_read(conversation=conversation, user=bob)
    assert getattr(Conversation.objects.get(), field) == second.pk
    # Ann's side is untouched by Bob reading.
    assert getattr(Conversation.objects.get(), conversation.last_read_field(ann.pk)) == second.pk


def test_only_participants_can_mark_a_conversation_read() -> None:
    ann, bob, cat = make_user("ann"), make_user("bob"), make_user("cat")
    message_send(sender=ann, recipient=bob, text="private")
    conversation = Conversation.objects.get()
    with pytest.raises(PermissionDenied):
        conversation_mark_read(conversation=conversation, user=cat)
    fresh = Conversation.objects.get()
    assert (fresh.low_last_read_id, fresh.high_last_read_id) == (
        conversation.low_last_read_id,
        conversation.high_last_read_id,
    )
