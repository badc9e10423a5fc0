"""Direct messages over a socket whose session ended (issue 17): a socket opened with a stolen
cookie kept receiving the victim's new messages, and could read any conversation and send as the
victim, after the victim logged out. Real ASGI application, real Redis, real Postgres."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.testing.websocket import WebsocketCommunicator
from django.conf import settings
from django.contrib.sessions.models import Session
from django.test import Client
from django.test.utils import override_settings

from accounts import sessions as session_store
from accounts.consumers import CLOSE_UNAUTHENTICATED
from accounts.models import User
from messaging.models import Conversation, Message
from messaging.services import message_send
from tests.factories import PASSWORD, make_user
from tweethub.asgi import application

pytestmark = pytest.mark.django_db(transaction=True)


def _browser(user: User) -> Client:
    client = Client()
    assert client.post("/accounts/login/", {"username": user.username, "password": PASSWORD}).status_code == 302
    return client


def _socket(client: Client) -> WebsocketCommunicator:
    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}".encode()
    return WebsocketCommunicator(application, "/ws/", headers=[(b"origin", b"http://localhost"), (b"cookie", cookie)])


def _stolen(client: Client) -> Client:
    """Another machine holding the same session cookie."""
    thief = Client()
    thief.cookies[settings.SESSION_COOKIE_NAME] = client.cookies[settings.SESSION_COOKIE_NAME].value
    return thief


def _run(scenario: Any) -> Any:
    async def bounded() -> Any:
        return await asyncio.wait_for(scenario(), timeout=60)

    return async_to_sync(bounded)()


@override_settings(LIVE_SWEEP_SECONDS=3600)  # only the logout's announcement can close it
def test_logout_in_another_client_closes_the_socket_and_later_messages_do_not_reach_it() -> None:
    vic, sam = make_user("vic"), make_user("sam")
    victim = _browser(vic)
    thief = _stolen(victim)

    async def scenario() -> tuple[dict[str, Any], dict[str, Any], bool]:
        stolen = _socket(thief)
        assert (await stolen.connect())[0]
        await sync_to_async(message_send)(sender=sam, recipient=vic, text="before the logout")
        before = await stolen.receive_json_from(timeout=5)
        assert (await sync_to_async(victim.post)("/accounts/logout/")).status_code == 302
        closed = await stolen.receive_output(timeout=5)
        await sync_to_async(message_send)(sender=sam, recipient=vic, text="after the logout")
        nothing = await stolen.receive_nothing(timeout=1)
        await stolen.disconnect()
        return before, closed, nothing

    before, closed, nothing = _run(scenario)
    assert before["payload"]["text"] == "before the logout"  # the socket did work until then
    assert (closed["type"], closed["code"]) == ("websocket.close", CLOSE_UNAUTHENTICATED)
    assert nothing, "a message sent after the logout reached the stolen socket"


@override_settings(LIVE_SWEEP_SECONDS=3600)
@pytest.mark.parametrize(
    "request_",
    [
        {"type": "dm.send", "to": "sam", "text": "sent as the victim"},
        {"type": "dm.catch_up", "with": "sam", "after": 0},
        {"type": "dm.read", "with": "sam"},
    ],
    ids=["dm.send", "dm.catch_up", "dm.read"],
)
def test_dm_requests_after_the_session_was_deleted_are_refused(request_: dict[str, Any]) -> None:
    """Deleted behind the hub's back (no announcement reaches the socket): the message itself
    finds the session gone. Nothing is sent, read or marked, and the socket closes."""
    vic, sam = make_user("vic"), make_user("sam")
    secret = message_send(sender=sam, recipient=vic, text="only for vic")
    victim = _browser(vic)
    key = victim.cookies[settings.SESSION_COOKIE_NAME].value

    async def scenario() -> tuple[dict[str, Any], bool]:
        stolen = _socket(victim)
        assert (await stolen.connect())[0]

        def delete_session() -> None:
            Session.objects.filter(session_key=key).delete()
            session_store._redis().delete(session_store.KEY_PREFIX + key)

        await sync_to_async(delete_session)()
        await stolen.send_json_to(request_)
        closed = await stolen.receive_output(timeout=5)
        nothing = await stolen.receive_nothing(timeout=0.5)
        await stolen.disconnect()
        return closed, nothing

    closed, nothing = _run(scenario)
    assert (closed["type"], closed["code"]) == ("websocket.close", CLOSE_UNAUTHENTICATED)
    assert nothing, "the socket answered after its session was gone"
    assert list(Message.objects.values_list("text", flat=True)) == [secret.text]  # nothing sent
    conversation = Conversation.objects.get()
    vic_read = conversation.low_last_read_id if conversation.user_low_id == vic.pk else conversation.high_last_read_id
    assert vic_read == 0  # nothing marked read for the victim
