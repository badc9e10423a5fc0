"""Live delivery over real websockets (the ASGI app, channels-redis on the real Redis)."""

from __future__ import annotations

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
from tweets.services import tweet_create, tweet_delete

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("eager_tasks")]


def _user(name: str) -> User:
    return make_user(name, last_active=timezone.now())


def _cookie(user: User) -> bytes:
    """A real session for `user` (made before the event loop starts: it writes to Postgres)."""
    client = Client()
    client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}".encode()


def _socket(cookie: bytes) -> WebsocketCommunicator:
    return WebsocketCommunicator(application, "/ws/", headers=[(b"origin", b"http://localhost"), (b"cookie", cookie)])


def _run(scenario: Any) -> Any:
    return async_to_sync(scenario)()


def test_a_tweet_reaches_online_followers_and_nobody_else() -> None:
    author, fan, stranger = _user("author"), _user("fan"), _user("stranger")
    follow_create(follower=fan, followee=author)
    services.feed_rebuild(user_id=fan.pk)

    fan_cookie = _cookie(fan)
    stranger_cookie = _cookie(stranger)

    async def scenario() -> tuple[dict[str, Any], bool]:
        fan_socket, stranger_socket = _socket(fan_cookie), _socket(stranger_cookie)
        assert (await fan_socket.connect())[0]
        assert (await stranger_socket.connect())[0]
        await sync_to_async(tweet_create)(author=author, text="<b>live</b> #now")
        received = await fan_socket.receive_json_from(timeout=5)
        stranger_got_nothing = await stranger_socket.receive_nothing(timeout=0.5)
        await fan_socket.disconnect()
        await stranger_socket.disconnect()
        return received, stranger_got_nothing

    received, stranger_got_nothing = _run(scenario)
    assert received["event"] == "tweet.new"
    assert "&lt;b&gt;live&lt;/b&gt;" in received["payload"]["html"]
    assert "<b>live" not in received["payload"]["html"]
    assert 'href="/tags/now/"' in received["payload"]["html"]
    assert stranger_got_nothing


def test_catch_up_after_a_reconnect_returns_what_was_missed_in_order() -> None:
    author, fan = _user("author"), _user("fan")
    follow_create(follower=fan, followee=author)
    seen = tweet_create(author=author, text="seen before the drop")
    services.feed_rebuild(user_id=fan.pk)
    # While the fan's phone is offline:
    missed = [tweet_create(author=author, text=f"missed {n}").id for n in range(3)]

    fan_cookie = _cookie(fan)

    async def scenario() -> Any:
        socket = _socket(fan_cookie)
        assert (await socket.connect())[0]
        await socket.send_json_to({"type": "catch_up", "after": seen.id})
        reply = await socket.receive_json_from(timeout=5)
        await socket.disconnect()
        return reply

    reply = _run(scenario)
    assert reply["event"] == "tweet.catch_up"
    ids = [tweet["id"] for tweet in reply["payload"]["tweets"]]
    # Oldest first; the grace window may repeat the one already shown (the client skips it).
    assert [i for i in ids if i != seen.id] == missed


@pytest.mark.parametrize("after", ["abc", -1, 2**60, None, True, 1.5])
def test_catch_up_ignores_malformed_cursors(after: Any) -> None:
    fan = _user("fan")

    fan_cookie = _cookie(fan)

    async def scenario() -> Any:
        socket = _socket(fan_cookie)
        assert (await socket.connect())[0]
        await socket.send_json_to({"type": "catch_up", "after": after})
        reply = await socket.receive_json_from(timeout=5)
        await socket.disconnect()
        return reply

    assert _run(scenario)["event"] == "tweet.catch_up"


def test_unknown_client_messages_get_an_error_not_a_crash() -> None:
    fan = _user("fan")

    fan_cookie = _cookie(fan)

    async def scenario() -> list[dict[str, Any]]:
        socket = _socket(fan_cookie)
        assert (await socket.connect())[0]
        await socket.send_json_to({"type": "drop_tables"})
        first = await socket.receive_json_from(timeout=5)
        await socket.send_json_to(["not", "an", "object"])
        second = await socket.receive_json_from(timeout=5)
        await socket.disconnect()
        return [first, second]

    assert [reply["event"] for reply in _run(scenario)] == ["error", "error"]


def test_a_deleted_tweet_is_withdrawn_live() -> None:
    author, fan = _user("author"), _user("fan")
    follow_create(follower=fan, followee=author)
    services.feed_rebuild(user_id=fan.pk)
    tweet = tweet_create(author=author, text="oops")

    fan_cookie = _cookie(fan)

    async def scenario() -> Any:
        socket = _socket(fan_cookie)
        assert (await socket.connect())[0]
        await sync_to_async(tweet_delete)(tweet_id=tweet.id, user=author)
        reply = await socket.receive_json_from(timeout=5)
        await socket.disconnect()
        return reply

    assert _run(scenario) == {"event": "tweet.deleted", "payload": {"id": tweet.id}}


@override_settings(CELEBRITY_THRESHOLD=1)
def test_celebrity_tweets_reach_online_followers_without_fan_out() -> None:
    star, fan, other = _user("star"), _user("fan"), _user("other")
    follow_create(follower=fan, followee=star)
    follow_create(follower=other, followee=star)  # 2 > 1: pull mode
    services.feed_rebuild(user_id=fan.pk)

    fan_cookie = _cookie(fan)

    async def scenario() -> Any:
        socket = _socket(fan_cookie)
        assert (await socket.connect())[0]
        await sync_to_async(tweet_create)(author=star, text="to my many fans")
        reply = await socket.receive_json_from(timeout=5)
        await socket.disconnect()
        return reply

    assert _run(scenario)["event"] == "tweet.new"


def test_presence_counts_open_sockets_per_user() -> None:
    fan = _user("fan")

    fan_cookie = _cookie(fan)

    async def scenario() -> list[int]:
        first, second = _socket(fan_cookie), _socket(fan_cookie)
        await first.connect()
        await second.connect()
        counts = [await sync_to_async(presence.open_sockets)()]
        await first.disconnect()
        counts.append(await sync_to_async(presence.open_sockets)())
        await second.disconnect()
        counts.append(await sync_to_async(presence.open_sockets)())
        online = await sync_to_async(presence.online_among)([fan.pk])
        counts.append(len(online))
        return counts

    assert _run(scenario) == [2, 1, 0, 0]


def test_a_follower_without_a_feed_still_receives_tweets_live() -> None:
    """Issue 19: a reader who signed up, followed and opened the site without loading Home has no
    feed (fan-out writes only existing feeds); their open page still sees the tweet arrive."""
    author, fan = _user("author"), _user("fan")
    follow_create(follower=fan, followee=author)
    fan_cookie = _cookie(fan)

    async def scenario() -> tuple[dict[str, Any], bool]:
        socket = _socket(fan_cookie)
        assert (await socket.connect())[0]
        tweet = await sync_to_async(tweet_create)(author=author, text="for a page without a feed")
        received = await socket.receive_json_from(timeout=5)
        await socket.disconnect()
        from timelines import store

        return received | {"id": tweet.id}, await sync_to_async(store.exists)(user_id=fan.pk)

    received, has_feed = _run(scenario)
    assert (received["event"], received["payload"]["id"]) == ("tweet.new", received["id"])
    assert not has_feed  # delivered live without a feed being written for it
