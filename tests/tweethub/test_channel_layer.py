"""The channel layer's routed sends (tweethub.channel_layer) on the real Redis: one message per web
process holding a recipient, the payload in it once; a full inbox is reported, its channels told
to catch up at their process's next sweep (tweethub.livesockets)."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.testing.websocket import WebsocketCommunicator
from django.conf import settings
from django.test import Client
from django.test.utils import override_settings

from tests.factories import make_user
from tweethub import livesockets, presence
from tweethub.asgi import application
from tweethub.channel_layer import RoutedRedisChannelLayer
from tweethub.livesockets import missed_key
from tweethub.redis import client_for, feeds


def _layer(**config: Any) -> RoutedRedisChannelLayer:
    return RoutedRedisChannelLayer(hosts=[settings.CHANNELS_REDIS_URL], prefix="test-live:", **config)


def _inbox(layer: RoutedRedisChannelLayer, channel: str) -> str:
    return str(layer.prefix + layer.non_local_name(channel))


def test_one_message_per_process_naming_its_channels() -> None:
    # Two web processes (two layers, two client prefixes), three sockets in one, one in the other.
    first, second = _layer(), _layer()

    async def scenario() -> dict[str, Any]:
        here = [await first.new_channel() for _ in range(3)]
        there = [await second.new_channel()]
        raw = client_for(settings.CHANNELS_REDIS_URL)
        missed = await first.send_to_channels([*here, *there], {"type": "live.event", "event": "x", "payload": {}})
        stored = {
            "first": raw.zcard(_inbox(first, here[0])),
            "second": raw.zcard(_inbox(second, there[0])),
            "missed": missed,
        }
        # Each process hands the one message to each of its own sockets.
        stored["here"] = [await first.receive(channel) for channel in here]
        stored["there"] = await second.receive(there[0])
        return stored

    result = async_to_sync(scenario)()
    assert (result["first"], result["second"], result["missed"]) == (1, 1, [])
    assert result["here"] == [{"type": "live.event", "event": "x", "payload": {}}] * 3
    assert result["there"] == {"type": "live.event", "event": "x", "payload": {}}


def test_an_idle_receive_outlasts_the_blocking_pop_and_gets_the_next_message() -> None:
    # An idle inbox's receive fails when its read times out with the pop: its socket is told to
    # catch up for nothing, and a message Redis popped at that instant is lost with the connection,
    # for every socket it named. Found by tests/faults/test_web_killed_under_sockets.py (a few
    # sockets told to catch up per run). Takes brpop_timeout + 1 s.
    layer = _layer()
    event = {"type": "live.event", "event": "x", "payload": {}}

    async def scenario() -> dict[str, Any]:
        channel = await layer.new_channel()

        async def send_later() -> None:
            await asyncio.sleep(layer.brpop_timeout + 1)
            await layer.send_to_channels([channel], event)

        sender = asyncio.create_task(send_later())
        received: dict[str, Any] = await layer.receive(channel)
        await sender
        return received

    assert async_to_sync(scenario)() == event


def test_a_receive_whose_cancellation_was_swallowed_still_ends() -> None:
    # Python 3.11's wait_for (under every redis-py send) can swallow a cancellation that lands as
    # its inner call finishes; the task then says cancelling() > 0 but runs on. channels-redis's
    # receive would loop on empty pops for good, and a closing event loop wait on it for ever
    # (tests/tweethub/test_session_bound_sockets.py hung so). Here the swallow is made on purpose.
    layer = _layer()

    async def swallowed_then_receive(channel: str) -> dict[str, Any]:
        task = asyncio.current_task()
        assert task is not None
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):  # as wait_for does: no uncancel(), no re-raise
            await asyncio.sleep(0)
        assert task.cancelling() == 1
        # Entered after the swallow, so that expiring it raises TimeoutError, not CancelledError.
        async with asyncio.timeout(layer.brpop_timeout * 2 + 1):
            message: dict[str, Any] = await layer.receive(channel)
        return message

    async def scenario() -> str:
        channel = await layer.new_channel()
        try:
            await swallowed_then_receive(channel)
        except asyncio.CancelledError:
            return "cancelled"
        except TimeoutError:
            return "still receiving"
        return "received"

    assert async_to_sync(scenario)() == "cancelled"


def test_the_read_outlasts_the_blocking_pop() -> None:
    # The configured read timeout, not redis-py's default (equal to the pop's 5 s): see the layer.
    layer = _layer()
    assert all(host["socket_timeout"] > layer.brpop_timeout for host in layer.hosts)


def test_the_sync_send_reports_the_channels_of_a_full_inbox() -> None:
    busy = _layer(channel_capacity={"specific.*": 1})
    idle = _layer(channel_capacity={"specific.*": 1})

    async def channels() -> tuple[list[str], list[str]]:
        return [await busy.new_channel(), await busy.new_channel()], [await idle.new_channel()]

    on_busy, on_idle = async_to_sync(channels)()
    message = {"type": "live.event", "event": "x", "payload": {}}
    assert busy.send_to_channels_sync(on_busy, message) == []  # the first fits
    # The busy process has not read its inbox: the next message finds it full. The idle one, not.
    assert sorted(busy.send_to_channels_sync([*on_busy, *on_idle], message)) == sorted(on_busy)


@pytest.mark.django_db(transaction=True)
def test_sockets_that_missed_an_event_are_told_to_catch_up_and_only_they() -> None:
    user, other = make_user("ida"), make_user("jon")
    cookies = []
    for person in (user, other):
        client = Client()
        client.force_login(person)
        cookies.append(f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}".encode())

    def socket(cookie: bytes) -> WebsocketCommunicator:
        headers = [(b"origin", b"http://localhost"), (b"cookie", cookie)]
        return WebsocketCommunicator(application, "/ws/", headers=headers)

    async def scenario() -> tuple[dict[str, Any], bool]:
        mine, theirs = socket(cookies[0]), socket(cookies[1])
        assert (await mine.connect())[0]
        assert (await theirs.connect())[0]
        channel = (await sync_to_async(presence.channels_of)([user.pk]))[user.pk][0]
        # What a send that found this socket's inbox full records (tweethub.realtime.send_to).
        await sync_to_async(livesockets.record_missed)([channel])
        told = await mine.receive_json_from(timeout=5)
        nothing = await theirs.receive_nothing(timeout=1)
        left = await sync_to_async(feeds().exists)(missed_key(channel.partition("!")[0] + "!"))
        await mine.disconnect()
        await theirs.disconnect()
        return told, nothing and not left

    with override_settings(LIVE_SWEEP_SECONDS=0.3):
        told, only_them = async_to_sync(scenario)()
    assert told == {"event": "live.catch_up", "payload": {"within_ms": 5000}}
    assert only_them
