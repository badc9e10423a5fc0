"""Every long-lived connection is bound to its session (issue 17): when the session ends, the
user's websockets close with 4401. Real ASGI application, real Redis pub/sub, real Postgres.

Tests that prove an announcement closes the socket set LIVE_SWEEP_SECONDS far beyond their own
length, so the periodic re-check cannot be what closed it; tests of the re-check set it short.
"""

from __future__ import annotations

import asyncio
import re
import socket as sockets_module
import time
from pathlib import Path
from typing import Any

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.testing.websocket import WebsocketCommunicator
from django.conf import settings
from django.contrib.sessions.models import Session
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext, override_settings

from accounts import authcache
from accounts import sessions as session_store
from accounts.consumers import CLOSE_SERVICE_RESTART, CLOSE_UNAUTHENTICATED
from accounts.models import User
from accounts.services import user_delete
from accounts.sessions_end import sessions_alive, sessions_end
from mailcatcher.models import CapturedMail
from tests.factories import PASSWORD, make_user
from tweethub.asgi import application
from tweethub.realtime import send_now
from tweethub.redis import client_for

pytestmark = pytest.mark.django_db(transaction=True)

NEW_PASSWORD = "a-new-Passw0rd-nobody-guesses"
DEAD_REDIS = "unix:///nonexistent/redis.sock"
ANNOUNCEMENT_ONLY = override_settings(LIVE_SWEEP_SECONDS=3600)
QUICK_SWEEP = override_settings(LIVE_SWEEP_SECONDS=0.3)


def _browser(user: User) -> Client:
    """A browser logged in through the login form: its own session, carrying the auth hash."""
    client = Client()
    assert client.post("/accounts/login/", {"username": user.username, "password": PASSWORD}).status_code == 302
    return client


def _key(client: Client) -> str:
    return str(client.cookies[settings.SESSION_COOKIE_NAME].value)


def _socket(session_key: str) -> WebsocketCommunicator:
    cookie = f"{settings.SESSION_COOKIE_NAME}={session_key}".encode()
    return WebsocketCommunicator(application, "/ws/", headers=[(b"origin", b"http://localhost"), (b"cookie", cookie)])


async def _close_code(socket: WebsocketCommunicator, timeout: float = 5) -> int:
    output = await socket.receive_output(timeout=timeout)
    assert output["type"] == "websocket.close", output
    return int(output["code"])


async def _connect_code(session_key: str) -> int | None:
    """None when a new socket with this session is accepted, else its close code."""
    socket = _socket(session_key)
    connected, code = await socket.connect(timeout=5)
    if connected:
        await socket.disconnect()
        return None
    return int(code) if code is not None else None


def _is_logged_in(client: Client) -> bool:
    return client.get("/settings/profile/").status_code == 200


@ANNOUNCEMENT_ONLY
def test_password_change_closes_every_other_sessions_socket_and_moves_this_ones() -> None:
    ann = make_user("ann")
    here, thief = _browser(ann), _browser(ann)
    old_key, thief_key = _key(here), _key(thief)

    async def scenario() -> dict[str, Any]:
        mine, stolen = _socket(old_key), _socket(thief_key)
        assert (await mine.connect())[0]
        assert (await stolen.connect())[0]
        response = await sync_to_async(here.post)(
            "/accounts/password/change/",
            {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
        )
        assert response.status_code == 302
        seen: dict[str, int | None] = {"stolen": await _close_code(stolen), "mine": await _close_code(mine)}
        await mine.disconnect()
        await stolen.disconnect()
        # What each browser's reconnect gets: this one holds the new key now.
        seen["reconnect with the new key"] = await _connect_code(_key(here))
        seen["reconnect with the old key"] = await _connect_code(old_key)
        seen["reconnect with the thief's key"] = await _connect_code(thief_key)
        return seen

    assert _run(scenario) == {
        "stolen": CLOSE_UNAUTHENTICATED,
        "mine": CLOSE_SERVICE_RESTART,  # the browser reconnects with its new cookie
        "reconnect with the new key": None,
        "reconnect with the old key": CLOSE_UNAUTHENTICATED,
        "reconnect with the thief's key": CLOSE_UNAUTHENTICATED,
    }
    assert _key(here) != old_key
    # The other session is deleted, not merely refused: its row and its Redis copy are gone.
    assert not Session.objects.filter(session_key__in=[old_key, thief_key]).exists()
    assert not session_store._redis().exists(session_store.KEY_PREFIX + thief_key)
    assert _is_logged_in(here)
    assert not _is_logged_in(thief)


@ANNOUNCEMENT_ONLY
@pytest.mark.usefixtures("eager_tasks")  # the worker sends the reset mail
def test_password_reset_closes_every_socket_of_the_account() -> None:
    bea = make_user("bea")
    thief = _browser(bea)

    async def scenario() -> int:
        stolen = _socket(_key(thief))
        assert (await stolen.connect())[0]
        visitor = Client()
        await sync_to_async(visitor.post)("/accounts/password/reset/", {"email": bea.email})
        link = await sync_to_async(_reset_link)()
        form_url = (await sync_to_async(visitor.get)(link))["Location"]
        new = {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
        assert (await sync_to_async(visitor.post)(form_url, new)).status_code == 302
        code = await _close_code(stolen)
        await stolen.disconnect()
        return code

    assert _run(scenario) == CLOSE_UNAUTHENTICATED
    assert not Session.objects.filter(session_key=_key(thief)).exists()


def _reset_link() -> str:
    mail = CapturedMail.objects.get()
    match = re.search(r"http://testserver(/accounts/password/reset/[^\s]+/)", mail.text_body)
    assert match, mail.text_body
    return match.group(1)


@ANNOUNCEMENT_ONLY
def test_sessions_end_closes_the_users_sockets_but_the_kept_sessions_and_nobody_elses() -> None:
    """The function other code calls (suspension, account deletion): rows, copies and sockets."""
    cal, dan = make_user("cal"), make_user("dan")
    first, kept, third = _browser(cal), _browser(cal), _browser(cal)
    bystander = _browser(dan)

    async def scenario() -> dict[str, Any]:
        sockets = {name: _socket(_key(client)) for name, client in
                   {"first": first, "kept": kept, "third": third, "dan": bystander}.items()}  # fmt: skip
        for socket in sockets.values():
            assert (await socket.connect())[0]
        ended = await sync_to_async(sessions_end)(user_id=cal.pk, keep_session_key=_key(kept))
        seen: dict[str, Any] = {"ended": ended}
        seen["first"] = await _close_code(sockets["first"])
        seen["third"] = await _close_code(sockets["third"])
        await sync_to_async(send_now)(event="hello", payload={}, user_ids=[cal.pk, dan.pk])
        seen["kept"] = (await sockets["kept"].receive_json_from(timeout=5))["event"]
        seen["dan"] = (await sockets["dan"].receive_json_from(timeout=5))["event"]
        for socket in sockets.values():
            await socket.disconnect()
        return seen

    assert _run(scenario) == {
        "ended": 2,
        "first": CLOSE_UNAUTHENTICATED,
        "third": CLOSE_UNAUTHENTICATED,
        "kept": "hello",
        "dan": "hello",
    }
    assert set(Session.objects.values_list("session_key", flat=True)) == {_key(kept), _key(bystander)}
    copies = session_store._redis()
    assert not copies.exists(session_store.KEY_PREFIX + _key(first), session_store.KEY_PREFIX + _key(third))
    assert _is_logged_in(kept)
    assert _is_logged_in(bystander)
    assert not _is_logged_in(first)
    assert not _is_logged_in(third)
    assert sessions_end(user_id=cal.pk, keep_session_key=_key(kept)) == 0  # idempotent


@ANNOUNCEMENT_ONLY
def test_a_suspended_account_loses_its_sockets_when_its_sessions_end() -> None:
    """What the suspension service does after its commit: is_active False, then sessions_end."""
    eve = make_user("eve")
    key = _key(_browser(eve))

    async def scenario() -> tuple[int, int | None]:
        socket = _socket(key)
        assert (await socket.connect())[0]

        def suspend() -> None:
            User.objects.filter(pk=eve.pk).update(is_active=False)
            authcache.forget(user_ids=[eve.pk])
            sessions_end(user_id=eve.pk)

        await sync_to_async(suspend)()
        code = await _close_code(socket)
        await socket.disconnect()
        return code, await _connect_code(key)

    assert _run(scenario) == (CLOSE_UNAUTHENTICATED, CLOSE_UNAUTHENTICATED)


@QUICK_SWEEP
def test_an_account_suspended_by_a_moderator_loses_its_sockets() -> None:
    """Through moderation's own service. It does not call sessions_end yet, so this is the sweep's
    re-check finding the account inactive; once it does, the close is immediate."""
    from moderation.services import account_suspend

    moderator, sid = make_user("mod", is_staff=True), make_user("sid")
    key = _key(_browser(sid))

    async def scenario() -> tuple[int, int | None]:
        socket = _socket(key)
        assert (await socket.connect())[0]
        assert await sync_to_async(account_suspend)(moderator=moderator, user_id=sid.pk)
        code = await _close_code(socket)
        await socket.disconnect()
        return code, await _connect_code(key)

    assert _run(scenario) == (CLOSE_UNAUTHENTICATED, CLOSE_UNAUTHENTICATED)


@QUICK_SWEEP
def test_an_expired_sessions_socket_closes_by_itself() -> None:
    fay = make_user("fay")
    browser = _browser(fay)
    store = session_store.SessionStore(_key(browser))
    store.load()
    store.set_expiry(2)
    store.save()

    async def scenario() -> tuple[int, float]:
        socket = _socket(_key(browser))
        assert (await socket.connect())[0]
        opened = time.monotonic()
        code = await _close_code(socket, timeout=10)
        await socket.disconnect()
        return code, time.monotonic() - opened

    code, after = _run(scenario)
    assert code == CLOSE_UNAUTHENTICATED
    assert after >= 1.0, "closed before the session expired"


@QUICK_SWEEP
def test_an_account_deactivated_by_hand_loses_its_sockets_at_the_next_sweep() -> None:
    """Nobody called sessions_end (an admin's SQL, then authcache.forget as the docs ask): the
    sweep's re-check still finds the user inactive."""
    gus = make_user("gus")
    key = _key(_browser(gus))

    async def scenario() -> int:
        socket = _socket(key)
        assert (await socket.connect())[0]

        def deactivate() -> None:
            User.objects.filter(pk=gus.pk).update(is_active=False)
            authcache.forget(user_ids=[gus.pk])

        await sync_to_async(deactivate)()
        code = await _close_code(socket)
        await socket.disconnect()
        return code

    assert _run(scenario) == CLOSE_UNAUTHENTICATED


@QUICK_SWEEP
def test_a_password_changed_outside_the_views_ends_the_old_sessions_sockets_at_the_next_sweep() -> None:
    """`manage.py changepassword` calls no view: the session's auth hash no longer matches."""
    rex = make_user("rex")
    key = _key(_browser(rex))

    async def scenario() -> int:
        socket = _socket(key)
        assert (await socket.connect())[0]

        def change_password() -> None:
            user = User.objects.get(pk=rex.pk)
            user.set_password(NEW_PASSWORD)
            user.save(update_fields=["password"])
            authcache.forget(user_ids=[rex.pk])

        await sync_to_async(change_password)()
        code = await _close_code(socket)
        await socket.disconnect()
        return code

    assert _run(scenario) == CLOSE_UNAUTHENTICATED


@QUICK_SWEEP
def test_a_deleted_accounts_sockets_close() -> None:
    hal = make_user("hal")
    key = _key(_browser(hal))

    async def scenario() -> int:
        socket = _socket(key)
        assert (await socket.connect())[0]
        await sync_to_async(lambda: user_delete(user=User.objects.get(pk=hal.pk)))()
        code = await _close_code(socket)
        await socket.disconnect()
        return code

    assert _run(scenario) == CLOSE_UNAUTHENTICATED


@ANNOUNCEMENT_ONLY
def test_no_client_message_is_acted_on_once_the_session_is_gone() -> None:
    """The session's row and copy deleted behind the hub's back (no announcement reaches it): the
    next client message finds the session gone, gets no answer, and closes the socket."""
    ida = make_user("ida")
    key = _key(_browser(ida))

    async def scenario() -> tuple[dict[str, Any], int, bool]:
        socket = _socket(key)
        assert (await socket.connect())[0]
        await socket.send_json_to({"type": "catch_up", "after": 0})
        answered = await socket.receive_json_from(timeout=5)  # alive: answered

        def delete_behind_its_back() -> None:
            Session.objects.filter(session_key=key).delete()
            session_store._redis().delete(session_store.KEY_PREFIX + key)

        await sync_to_async(delete_behind_its_back)()
        await socket.send_json_to({"type": "catch_up", "after": 0})
        code = await _close_code(socket)
        nothing_more = await socket.receive_nothing(timeout=0.5)
        await socket.disconnect()
        return answered, code, nothing_more

    answered, code, nothing_more = _run(scenario)
    assert answered["event"] == "tweet.catch_up"
    assert code == CLOSE_UNAUTHENTICATED
    assert nothing_more


@override_settings(LIVE_SWEEP_SECONDS=3600)
def test_a_session_that_ends_while_the_socket_joins_is_refused(tmp_path: Path) -> None:
    """The channel layer answers nothing (a server that accepts connections and never replies), so
    joining the session's group waits its 2 s timeout and goes on, and the logout's announcement
    reaches nobody: a logout landing after the socket's session was read is caught by the check
    made once the socket is registered, instead of the socket living on until the next sweep."""
    pia = make_user("pia")
    key = _key(_browser(pia))
    silent = sockets_module.socket(sockets_module.AF_UNIX, sockets_module.SOCK_STREAM)
    silent.bind(str(tmp_path / "silent.sock"))
    silent.listen(64)  # connections wait in the backlog: connected, never answered
    layer = {
        "BACKEND": "tweethub.channel_layer.RoutedRedisChannelLayer",
        "CONFIG": {"hosts": [{"address": f"unix://{tmp_path / 'silent.sock'}", "socket_timeout": 2}]},
    }

    async def scenario() -> int | None:
        joining = asyncio.ensure_future(_connect_code(key))
        await asyncio.sleep(1)  # the session is read; joining its group waits for the layer
        await sync_to_async(session_store.SessionStore(key).delete)()
        return await joining

    try:
        with override_settings(CHANNEL_LAYERS={"default": layer}):
            assert _run(scenario) == CLOSE_UNAUTHENTICATED
    finally:
        silent.close()


def test_a_request_that_read_the_row_before_a_logout_cannot_write_the_copy_back() -> None:
    """A stolen cookie racing the victim's logout: its request missed the copy and read the row,
    the logout deleted both, then the request wrote the copy it had read. That copy would have
    kept the session alive for its whole age; the logout's tombstone refuses it."""
    kim = make_user("kim")
    key = _key(_browser(kim))
    copies = session_store._redis()
    copies.delete(session_store.KEY_PREFIX + key)
    racing = session_store.SessionStore(key)
    row = racing._get_session_from_db()  # type: ignore[attr-defined]
    assert row is not None
    session_store.SessionStore(key).delete()  # the logout
    racing._write_copy(row.session_data, racing.decode(row.session_data), 3600)  # the request goes on
    assert not copies.exists(session_store.KEY_PREFIX + key)
    assert session_store.SessionStore(key).load() == {}


def test_sessions_end_finds_sessions_the_index_lost_in_a_flush() -> None:
    lea = make_user("lea")
    browsers = [_browser(lea), _browser(lea)]
    client_for(settings.CACHE_REDIS_URL).flushall()  # copies and index gone; the rows stay
    assert all(_is_logged_in(browser) for browser in browsers[:1])  # one is used again: re-indexed
    assert sessions_end(user_id=lea.pk) == 2
    assert not any(_is_logged_in(browser) for browser in browsers)


def test_with_a_settled_index_sessions_end_reads_no_session_row() -> None:
    """Once the index has recorded for a whole session age, it is trusted alone: no scan."""
    max_ = make_user("max")
    browsers = [_browser(max_), _browser(make_user("ned"))]
    session_store._redis().set(session_store.INDEX_SINCE, int(time.time()) - settings.SESSION_COOKIE_AGE - 60)
    with CaptureQueriesContext(connection) as queries:
        assert sessions_end(user_id=max_.pk) == 1
    statements = [query["sql"] for query in queries.captured_queries]
    assert [sql.split()[0] for sql in statements if sql not in ("BEGIN", "COMMIT")] == ["DELETE"], statements
    assert not _is_logged_in(browsers[0])
    assert _is_logged_in(browsers[1])


def test_re_checking_a_warm_session_costs_one_redis_round_trip_and_no_sql(
    django_assert_num_queries: Any, redis_round_trips: Any
) -> None:
    ola = make_user("ola")
    browser = _browser(ola)
    assert _is_logged_in(browser)  # the user's row is cached
    sockets = [(_key(browser), ola.pk)]
    assert sessions_alive(sockets=sockets) == [True]
    redis_round_trips.clear()
    with django_assert_num_queries(0):
        assert sessions_alive(sockets=sockets) == [True]
    assert redis_round_trips.count == 1, redis_round_trips.sent
    assert sessions_alive(sockets=[(_key(browser), ola.pk + 1)]) == [False]  # another user's id


def _run(scenario: Any) -> Any:
    async def bounded() -> Any:
        return await asyncio.wait_for(scenario(), timeout=60)

    return async_to_sync(bounded)()
