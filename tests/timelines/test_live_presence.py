"""Presence heals by itself (issue 17): after a FLUSHALL under open sockets, live tweets reach the
open pages again, and a tweet posted while presence was gone is caught up. Real ASGI application,
real Redis (flushed for real), real Postgres; Celery tasks run eagerly."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.testing.websocket import WebsocketCommunicator
from django.conf import settings
from django.test import Client
from django.test.utils import override_settings
from django.utils import timezone

from accounts.models import User
from follows.services import follow_create
from tests.factories import make_user
from timelines import services
from tweethub import presence
from tweethub.asgi import application
from tweethub.redis import client_for
from tweets.services import tweet_create

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("eager_tasks")]

SWEEP = 0.3


def _user(name: str) -> User:
    return make_user(name, last_active=timezone.now())


def _cookie(user: User) -> bytes:
    client = Client()
    client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}".encode()


def _socket(cookie: bytes) -> WebsocketCommunicator:
    return WebsocketCommunicator(application, "/ws/", headers=[(b"origin", b"http://localhost"), (b"cookie", cookie)])


def _run(scenario: Any) -> Any:
    async def bounded() -> Any:
        return await asyncio.wait_for(scenario(), timeout=60)

    return async_to_sync(bounded)()


async def _until(predicate: Any, timeout: float = 10) -> bool:
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        if await sync_to_async(predicate)():
            return True
        await asyncio.sleep(0.05)
    return False


@override_settings(LIVE_SWEEP_SECONDS=SWEEP)
def test_after_a_flush_open_pages_catch_up_and_receive_new_tweets_again() -> None:
    author, fan = _user("author"), _user("fan")
    follow_create(follower=fan, followee=author)
    seen = tweet_create(author=author, text="before the flush")
    services.feed_rebuild(user_id=fan.pk)
    fan_cookie = _cookie(fan)

    async def scenario() -> dict[str, Any]:
        socket = _socket(fan_cookie)
        assert (await socket.connect())[0]
        await sync_to_async(client_for(settings.FEEDS_REDIS_URL).flushall)()
        # Posted while the fan looked offline: fan-out cannot announce it to anyone.
        missed = await sync_to_async(tweet_create)(author=author, text="while presence was gone")
        result: dict[str, Any] = {"missed": missed.id}
        # The page is told to catch up (live.js then asks, as after a reconnect); the socket stays.
        told = await socket.receive_json_from(timeout=10)
        result["told"] = told["event"]
        await socket.send_json_to({"type": "catch_up", "after": seen.id})
        caught_up = await socket.receive_json_from(timeout=5)
        result["caught_up"] = [tweet["id"] for tweet in caught_up["payload"]["tweets"]]
        fresh = await sync_to_async(tweet_create)(author=author, text="after the flush")
        live = await socket.receive_json_from(timeout=5)
        result["live"] = (live["event"], live["payload"]["id"] == fresh.id)
        await socket.disconnect()
        return result

    result = _run(scenario)
    assert result["told"] == "live.catch_up"
    assert result["missed"] in result["caught_up"]
    assert result["live"] == ("tweet.new", True)


@override_settings(LIVE_SWEEP_SECONDS=SWEEP)
def test_presence_comes_back_after_a_flush_without_any_socket_reconnecting() -> None:
    """The process writes its share back at its next check, before any browser reconnects."""
    fan = _user("fan")
    fan_cookie = _cookie(fan)

    async def scenario() -> tuple[list[int], list[int], int]:
        socket, second_tab = _socket(fan_cookie), _socket(fan_cookie)
        assert (await socket.connect())[0]
        assert (await second_tab.connect())[0]
        before = await sync_to_async(presence.online_among)([fan.pk])
        await sync_to_async(client_for(settings.FEEDS_REDIS_URL).flushall)()
        assert await _until(lambda: presence.online_among([fan.pk]) == [fan.pk]), "presence did not come back"
        after = await sync_to_async(presence.online_among)([fan.pk])
        count = await sync_to_async(presence.open_sockets)()
        await socket.disconnect()
        await second_tab.disconnect()
        return before, after, count

    before, after, count = _run(scenario)
    assert before == after == [fan.pk]
    assert count == 2  # both tabs, counted once each


@override_settings(LIVE_SWEEP_SECONDS=SWEEP)
def test_the_share_of_a_process_that_died_is_removed() -> None:
    """A web process killed with SIGKILL never counts its sockets down: its users stayed "online"
    forever. Its share stops being refreshed, and the live processes remove it."""
    ghost, fan = _user("ghost"), _user("fan")
    fan_cookie = _cookie(fan)

    async def scenario() -> tuple[list[int], list[int], list[int]]:
        dead = presence.ProcessShare()
        # Two sockets, then nothing more: the process is gone.
        await dead.write({ghost.pk: ["specific.dead!a", "specific.dead!b"]})
        await dead.close()
        before = await sync_to_async(presence.online_among)([ghost.pk])
        socket = _socket(fan_cookie)  # a live process, whose sweep looks at the others
        assert (await socket.connect())[0]
        gone = await _until(lambda: presence.online_among([ghost.pk]) == [], timeout=presence.STALE_SWEEPS * SWEEP + 5)
        assert gone, "the dead process's sockets are still counted"
        fan_online = await sync_to_async(presence.online_among)([fan.pk])
        await socket.disconnect()
        return before, await sync_to_async(presence.online_among)([ghost.pk]), fan_online

    assert _run(scenario) == ([ghost.pk], [], [fan.pk])
