"""The websocket endpoint, through the real channels-redis layer."""

from __future__ import annotations

from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.testing.websocket import WebsocketCommunicator
from django.conf import settings
from django.test import Client

from accounts.models import User
from tests.factories import make_user
from tweethub.asgi import application
from tweethub.consumers import CLOSE_UNAUTHENTICATED
from tweethub.realtime import send_now


def _session_cookie(user: User) -> bytes:
    client = Client()
    client.force_login(user)
    session_key = client.cookies[settings.SESSION_COOKIE_NAME].value
    return f"{settings.SESSION_COOKIE_NAME}={session_key}".encode()


def _headers(cookie: bytes | None, origin: bytes = b"http://localhost") -> list[tuple[bytes, bytes]]:
    headers = [(b"origin", origin)]
    if cookie:
        headers.append((b"cookie", cookie))
    return headers


def _run(coro_fn: Any) -> Any:
    return async_to_sync(coro_fn)()


@pytest.mark.django_db(transaction=True)
def test_round_trip_through_the_redis_channel_layer() -> None:
    alice = make_user("alice")
    bob = make_user("bob")
    alice_cookie, bob_cookie = _session_cookie(alice), _session_cookie(bob)

    async def scenario() -> tuple[dict[str, Any], bool]:
        to_alice = WebsocketCommunicator(application, "/ws/", headers=_headers(alice_cookie))
        to_bob = WebsocketCommunicator(application, "/ws/", headers=_headers(bob_cookie))
        assert (await to_alice.connect())[0]
        assert (await to_bob.connect())[0]
        # send_now is synchronous (called from tasks); run it off the event loop like a task would.
        from asgiref.sync import sync_to_async

        await sync_to_async(send_now)(event="hello", payload={"n": 1}, user_ids=[alice.pk])
        received = await to_alice.receive_json_from(timeout=5)
        bob_got_nothing = await to_bob.receive_nothing(timeout=0.5)
        await to_alice.disconnect()
        await to_bob.disconnect()
        return received, bob_got_nothing

    received, bob_got_nothing = _run(scenario)
    assert received == {"event": "hello", "payload": {"n": 1}}
    assert bob_got_nothing, "an event for alice reached bob's socket"


@pytest.mark.django_db(transaction=True)
def test_anonymous_socket_is_closed() -> None:
    async def scenario() -> tuple[bool, int | None]:
        communicator = WebsocketCommunicator(application, "/ws/", headers=_headers(None))
        connected, code = await communicator.connect()
        return connected, code

    connected, code = _run(scenario)
    assert not connected
    assert code == CLOSE_UNAUTHENTICATED


@pytest.mark.django_db(transaction=True)
def test_foreign_origin_is_refused() -> None:
    mallory_page = b"https://evil.example"
    user = make_user("carol")
    cookie = _session_cookie(user)

    async def scenario() -> bool:
        communicator = WebsocketCommunicator(application, "/ws/", headers=_headers(cookie, mallory_page))
        connected, _ = await communicator.connect()
        return bool(connected)

    assert _run(scenario) is False
