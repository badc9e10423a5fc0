"""Two people writing each other their first message at the same moment get one conversation."""

from __future__ import annotations

import threading

import pytest
from django.db import close_old_connections, connection, transaction

from messaging.models import Conversation, Message
from messaging.services import message_send
from tests.factories import make_user
from tests.races import wait_until_a_backend_waits_on_a_lock


@pytest.mark.django_db(transaction=True)
def test_simultaneous_first_messages_share_one_conversation() -> None:
    ann, bob = make_user("ann"), make_user("bob")
    inserted = threading.Event()
    errors: list[BaseException] = []

    def ann_writes_and_holds() -> None:
        try:
            with transaction.atomic():
                message_send(sender=ann, recipient=bob, text="hi Bob")
                inserted.set()
                # Commit only once Bob's first message waits on our new conversation row.
                wait_until_a_backend_waits_on_a_lock("the second first-message")
        except BaseException as error:  # reported to the test thread below
            errors.append(error)
            inserted.set()
        finally:
            close_old_connections()
            connection.close()

    holder = threading.Thread(target=ann_writes_and_holds)
    holder.start()
    assert inserted.wait(10)
    try:
        message_send(sender=bob, recipient=ann, text="hi Ann")
    finally:
        holder.join(15)
    assert errors == []
    conversation = Conversation.objects.get()
    texts = list(Message.objects.filter(conversation=conversation).order_by("id").values_list("text", flat=True))
    assert texts == ["hi Bob", "hi Ann"]
    assert conversation.last_message_id == Message.objects.get(text="hi Ann").pk
