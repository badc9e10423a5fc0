"""The websocket endpoint and live events, through channels-redis on real Redis (tweethub.realtime)."""

from __future__ import annotations

from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.testing.websocket import WebsocketCommunicator
from django.conf import settings
from django.test import Client

from accounts.consumers import CLOSE_UNAUTHENTICATED
from accounts.models import User
from tests.factories import make_user
from tweethub.asgi import application
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
def test_round_trip_through_the_channel_layer() -> None:
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


@pytest.mark.django_db(transaction=True)
def test_one_event_reaches_every_socket_of_each_recipient_and_nobody_else() -> None:
    """One PUBLISH for many recipients: each listed user's sockets (two tabs too) get it once."""
    users = [make_user(f"fan{n}") for n in range(4)]
    cookies = [_session_cookie(user) for user in users]
    listed = [users[0].pk, users[1].pk, users[2].pk]

    async def scenario() -> tuple[list[Any], bool]:
        sockets = [WebsocketCommunicator(application, "/ws/", headers=_headers(cookie)) for cookie in cookies]
        second_tab = WebsocketCommunicator(application, "/ws/", headers=_headers(cookies[0]))
        for socket in [*sockets, second_tab]:
            assert (await socket.connect())[0]
        from asgiref.sync import sync_to_async

        await sync_to_async(send_now)(event="tweet.new", payload={"id": 7}, user_ids=listed)
        got = [await socket.receive_json_from(timeout=5) for socket in [*sockets[:3], second_tab]]
        # More recipients than this process has users (most are offline): the other lookup path.
        many = [*listed, *range(10**6, 10**6 + 50)]
        await sync_to_async(send_now)(event="tweet.new", payload={"id": 8}, user_ids=many)
        got += [await socket.receive_json_from(timeout=5) for socket in [*sockets[:3], second_tab]]
        outsider_got_nothing = await sockets[3].receive_nothing(timeout=0.5)
        nothing_twice = all([await socket.receive_nothing(timeout=0.2) for socket in sockets[:3]])
        for socket in [*sockets, second_tab]:
            await socket.disconnect()
        return [*got, nothing_twice], outsider_got_nothing

    got, outsider_got_nothing = _run(scenario)
    assert got[:4] == [{"event": "tweet.new", "payload": {"id": 7}}] * 4
    assert got[4:8] == [{"event": "tweet.new", "payload": {"id": 8}}] * 4
    assert got[8] is True, "a recipient's socket got an event twice"
    assert outsider_got_nothing, "an event reached a socket of a user it did not list"


@pytest.mark.django_db(transaction=True)
def test_closing_sockets_leaves_presence_and_the_registry_exact() -> None:
    from tweethub import presence

    user = make_user("dora")
    cookie = _session_cookie(user)

    async def scenario() -> tuple[int, int, int, int]:
        from tweethub.livesockets import live_sockets

        sockets = [WebsocketCommunicator(application, "/ws/", headers=_headers(cookie)) for _ in range(3)]
        for socket in sockets:
            assert (await socket.connect())[0]
        from asgiref.sync import sync_to_async

        during = await sync_to_async(presence.open_sockets)()
        channels = len((await sync_to_async(presence.channels_of)([user.pk]))[user.pk])
        for socket in sockets:
            await socket.disconnect()
        # Closed sockets are forgotten by the registry too (no leak across a long-lived process).
        after = await sync_to_async(presence.open_sockets)()
        return during, channels, after, len(live_sockets().sockets.get(user.pk, ()))

    assert _run(scenario) == (3, 3, 0, 0)


@pytest.mark.django_db(transaction=True)
def test_a_socket_outlives_the_layers_lost_connection_and_is_told_to_catch_up() -> None:
    """The layer's blocking read dies with its connection (Redis restarted, the connection killed).
    Channels would end the consumer without its disconnect handler; instead the socket stays, and
    once Redis answers again the page is told to catch up (events sent meanwhile may be lost)."""
    from asgiref.sync import sync_to_async

    from tweethub.redis import client_for

    user = make_user("erin")
    cookie = _session_cookie(user)

    async def scenario() -> tuple[dict[str, Any], dict[str, Any]]:
        socket = WebsocketCommunicator(application, "/ws/", headers=_headers(cookie))
        assert (await socket.connect())[0]
        client = client_for(settings.CHANNELS_REDIS_URL)
        killed = await sync_to_async(client.client_kill_filter)(_type="normal", skipme=True)
        assert killed >= 1
        told = await socket.receive_json_from(timeout=10)
        await sync_to_async(send_now)(event="hello", payload={"n": 2}, user_ids=[user.pk])
        later = await socket.receive_json_from(timeout=5)
        await socket.disconnect()
        return told, later

    told, later = _run(scenario)
    assert told == {"event": "live.catch_up", "payload": {"within_ms": 5000}}
    assert later == {"event": "hello", "payload": {"n": 2}}
