"""Direct messages over the websocket, through the real application and the Redis channel layer."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.testing.websocket import WebsocketCommunicator
from django.conf import settings
from django.db import transaction
from django.test import Client, override_settings

from accounts.models import DmPolicy, User
from messaging.models import Conversation, Message
from messaging.services import message_send
from tests.factories import make_user
from tweethub import presence
from tweethub.asgi import application

pytestmark = pytest.mark.django_db(transaction=True)


def _session_cookie(user: User) -> bytes:
    client = Client()
    client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}".encode()


def _socket(user: User) -> WebsocketCommunicator:
    headers = [(b"origin", b"http://localhost"), (b"cookie", _session_cookie(user))]
    return WebsocketCommunicator(application, "/ws/", headers=headers)


def _run(scenario: Callable[[], Awaitable[Any]]) -> Any:
    return async_to_sync(scenario)()


async def _receive(socket: WebsocketCommunicator, count: int) -> dict[str, dict[str, Any]]:
    """The next `count` events, by name (a reply and a group event may come in either order)."""
    events = [await socket.receive_json_from(timeout=5) for _ in range(count)]
    by_name = {event["event"]: event["payload"] for event in events}
    assert len(by_name) == count, events
    return by_name


def _conversation(a: User, b: User) -> Conversation:
    low, high = sorted([a.pk, b.pk])
    return Conversation.objects.get(user_low_id=low, user_high_id=high)


def test_a_message_reaches_both_participants_and_nobody_else() -> None:
    ann, bob, cat = make_user("ann", name="Ann"), make_user("bob", name="Bob"), make_user("cat")
    sockets = {user.username: _socket(user) for user in (ann, bob, cat)}

    async def scenario() -> tuple[dict[str, dict[str, Any]], dict[str, Any], bool]:
        for socket in sockets.values():
            assert (await socket.connect())[0]
        await sockets["ann"].send_json_to({"type": "dm.send", "to": "BOB", "text": "  hi <Bob>  "})
        to_ann = await _receive(sockets["ann"], 2)  # the reply (dm.sent) and the push (dm.new)
        to_bob = await sockets["bob"].receive_json_from(timeout=5)
        cat_heard_nothing = await sockets["cat"].receive_nothing(timeout=1)
        for socket in sockets.values():
            await socket.disconnect()
        return to_ann, to_bob, cat_heard_nothing

    to_ann, to_bob, cat_heard_nothing = _run(scenario)

    message = Message.objects.get()
    assert message.text == "hi <Bob>"
    assert cat_heard_nothing, "a direct message reached a socket of someone outside the conversation"
    assert to_bob["event"] == "dm.new"
    bob_sees = to_bob["payload"]
    assert (bob_sees["id"], bob_sees["with"], bob_sees["sender"], bob_sees["text"]) == (
        message.pk,
        "ann",
        "ann",
        "hi <Bob>",
    )
    assert "dm-theirs" in bob_sees["html"]
    assert "hi &lt;Bob&gt;" in bob_sees["html"]
    assert to_ann["dm.sent"]["id"] == to_ann["dm.new"]["id"] == message.pk
    assert to_ann["dm.new"]["with"] == "bob"
    assert "dm-mine" in to_ann["dm.new"]["html"]


@pytest.mark.parametrize(
    ("content", "error"),
    [
        ({"type": "dm.send", "to": "ann", "text": "me"}, "There is nobody to send that to."),
        ({"type": "dm.send", "to": "nobody", "text": "hi"}, "There is nobody to send that to."),
        ({"type": "dm.send", "to": ["bob"], "text": "hi"}, "There is nobody to send that to."),
        ({"type": "dm.send", "to": "bob", "text": 42}, "Write something first."),
        ({"type": "dm.send", "to": "bob", "text": "   "}, "Write something first."),
        (
            {"type": "dm.send", "to": "bob", "text": "x" * 1001},
            "Messages are at most 1000 characters (this one has 1001).",
        ),
        (
            {"type": "dm.send", "to": "bob", "text": "a\x00b"},
            "That text contains a character messages cannot hold (NUL).",
        ),
        ({"type": "dm.send", "to": "picky", "text": "hi"}, "@picky only accepts messages from people they follow."),
    ],
)
def test_refusals_come_back_as_dm_error_and_nothing_is_sent(content: dict[str, Any], error: str) -> None:
    ann, bob = make_user("ann"), make_user("bob")
    make_user("picky", dm_policy=DmPolicy.FOLLOWING)
    to_ann, to_bob = _socket(ann), _socket(bob)

    async def scenario() -> tuple[dict[str, Any], bool]:
        assert (await to_ann.connect())[0]
        assert (await to_bob.connect())[0]
        await to_ann.send_json_to(content)
        reply = await to_ann.receive_json_from(timeout=5)
        bob_heard_nothing = await to_bob.receive_nothing(timeout=0.5)
        await to_ann.disconnect()
        await to_bob.disconnect()
        return reply, bob_heard_nothing

    reply, bob_heard_nothing = _run(scenario)
    assert reply["event"] == "dm.error"
    assert reply["payload"]["message"] == error
    assert bob_heard_nothing
    assert not Message.objects.exists()


def test_unverified_and_rate_limited_senders_get_dm_error() -> None:
    newbie, ann, bob = make_user("newbie", verified=False), make_user("ann"), make_user("bob")
    newbie_socket, ann_socket = _socket(newbie), _socket(ann)

    async def scenario() -> tuple[dict[str, Any], list[dict[str, Any]]]:
        assert (await newbie_socket.connect())[0]
        await newbie_socket.send_json_to({"type": "dm.send", "to": "bob", "text": "hi"})
        refused = await newbie_socket.receive_json_from(timeout=5)
        assert (await ann_socket.connect())[0]
        replies = []
        for n in range(31):
            await ann_socket.send_json_to({"type": "dm.send", "to": "bob", "text": f"m{n}"})
            reply = await ann_socket.receive_json_from(timeout=5)
            while reply["event"] == "dm.new":  # a push of a message sent; the reply is what we want
                reply = await ann_socket.receive_json_from(timeout=5)
            replies.append(reply)
        await newbie_socket.disconnect()
        await ann_socket.disconnect()
        return refused, replies

    refused, replies = _run(scenario)
    assert refused == {
        "event": "dm.error",
        "payload": {"message": "Please confirm your email address first.", "with": "bob"},
    }
    assert replies[-1]["event"] == "dm.error"
    assert replies[-1]["payload"]["message"] == "You are sending messages very fast. Please wait a little."
    assert Message.objects.filter(sender=ann).count() == 30
    assert not Message.objects.filter(sender=newbie).exists()
    assert not Message.objects.filter(sender=bob).exists()


def test_nothing_is_pushed_before_the_message_is_committed() -> None:
    ann, bob = make_user("ann"), make_user("bob")
    to_bob = _socket(bob)

    async def scenario() -> tuple[bool, dict[str, Any]]:
        assert (await to_bob.connect())[0]
        quiet_while_open: list[bool] = []

        def send_in_an_open_transaction() -> None:
            with transaction.atomic():
                message_send(sender=ann, recipient=bob, text="wait for it")
                quiet_while_open.append(async_to_sync(to_bob.receive_nothing)(timeout=0.5))

        await sync_to_async(send_in_an_open_transaction)()
        pushed = await to_bob.receive_json_from(timeout=5)
        await to_bob.disconnect()
        return quiet_while_open[0], pushed

    quiet, pushed = _run(scenario)
    assert quiet, "the push left before the commit"
    assert pushed["payload"]["text"] == "wait for it"


def test_read_and_catch_up_act_on_the_sockets_own_conversation_only() -> None:
    ann, bob, cat = make_user("ann"), make_user("bob"), make_user("cat")
    first = message_send(sender=ann, recipient=bob, text="first")
    second = message_send(sender=ann, recipient=bob, text="second")
    message_send(sender=cat, recipient=bob, text="from cat")
    bob_socket, cat_socket = _socket(bob), _socket(cat)

    async def scenario() -> dict[str, Any]:
        assert (await bob_socket.connect())[0]
        assert (await cat_socket.connect())[0]
        replies: dict[str, Any] = {}
        await bob_socket.send_json_to({"type": "dm.catch_up", "with": "ann", "after": first.pk})
        replies["bob_catch_up"] = await bob_socket.receive_json_from(timeout=5)
        await bob_socket.send_json_to({"type": "dm.read", "with": "ann", "up_to": first.pk})
        replies["bob_read"] = await bob_socket.receive_json_from(timeout=5)
        # Cat names Bob: she gets her own conversation with him, never Ann's.
        await cat_socket.send_json_to({"type": "dm.catch_up", "with": "bob", "after": 0})
        replies["cat_catch_up"] = await cat_socket.receive_json_from(timeout=5)
        await cat_socket.send_json_to({"type": "dm.catch_up", "with": "ann", "after": 0})
        replies["cat_catch_up_ann"] = await cat_socket.receive_json_from(timeout=5)
        await cat_socket.send_json_to({"type": "dm.read", "with": "ann", "up_to": second.pk})
        replies["cat_read"] = await cat_socket.receive_json_from(timeout=5)
        await cat_socket.send_json_to({"type": "dm.catch_up", "with": {"id": 1}, "after": "x"})
        replies["cat_bad"] = await cat_socket.receive_json_from(timeout=5)
        await bob_socket.disconnect()
        await cat_socket.disconnect()
        return replies

    replies = _run(scenario)
    # What bob's page lacks, plus what it may hold already written within the grace (it skips those).
    assert [m["text"] for m in replies["bob_catch_up"]["payload"]["messages"]] == ["first", "second"]
    assert replies["bob_read"] == {"event": "dm.marked_read", "payload": {"with": "ann"}}
    conversation = _conversation(ann, bob)
    assert getattr(conversation, conversation.last_read_field(bob.pk)) == first.pk
    assert [m["text"] for m in replies["cat_catch_up"]["payload"]["messages"]] == ["from cat"]
    assert replies["cat_catch_up_ann"]["payload"] == {"with": "ann", "messages": []}
    assert replies["cat_read"]["event"] == "dm.marked_read"
    assert replies["cat_bad"]["event"] == "dm.error"
    # Cat's requests wrote nothing anywhere: the Ann-Bob conversation is as Bob left it.
    assert getattr(_conversation(ann, bob), conversation.last_read_field(ann.pk)) == second.pk
    assert Conversation.objects.count() == 2


DEAD_REDIS = "unix:///nonexistent/redis.sock"


def test_a_failed_push_never_loses_a_message(caplog: pytest.LogCaptureFixture) -> None:
    ann, bob = make_user("ann"), make_user("bob")
    as_ann = Client()
    as_ann.force_login(ann)
    presence.connected(bob.pk)  # bob has a page open: the push is attempted, and fails
    dead_layer = {"BACKEND": "tweethub.channel_layer.RoutedRedisChannelLayer", "CONFIG": {"hosts": [DEAD_REDIS]}}
    with override_settings(CHANNEL_LAYERS={"default": dead_layer}), caplog.at_level(logging.WARNING):
        response = as_ann.post("/messages/bob/", {"text": "stored first, pushed after"})
    # The sender sees success (a retry would send it twice), and the failure is logged.
    assert response.status_code == 302
    assert any("channel layer unreachable" in record.getMessage() for record in caplog.records)
    assert Message.objects.get().text == "stored first, pushed after"
    # Bob's next page load shows it, unread until he opens it.
    as_bob = Client()
    as_bob.force_login(bob)
    assert 'data-unread="1"' in as_bob.get("/messages/").content.decode()
    assert "stored first, pushed after" in as_bob.get("/messages/ann/").content.decode()
