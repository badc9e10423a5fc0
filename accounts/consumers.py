"""The websocket endpoint /ws/: one socket per open page, a Channels consumer of its own user.

The consumer only authenticates, registers its channel in presence under the authenticated user
(tweethub.livesockets), forwards the channel-layer messages addressed to it (tweethub.realtime
sends them to the channels presence names), and dispatches the few messages a client may send to
the app that handles them. Who receives what is decided by services, never here.

A socket lives no longer than the session it was opened with (issue 17): its channel joins the
session's group, it is closed with CLOSE_UNAUTHENTICATED when the session ends (announced through
the channel layer by tweethub.realtime.sessions_ended, or found by the sweep), and it re-checks the
session before acting on any client message (accounts.sessions_end.sessions_alive: one Redis round
trip when warm).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import redis
from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from accounts.sessions_end import sessions_alive
from tweethub.livesockets import live_sockets, session_group

logger = logging.getLogger(__name__)

CLOSE_UNAUTHENTICATED = 4401
# The channel-layer messages a socket takes (tweethub.realtime sends them), handled without a
# database: UserConsumer.dispatch says why that matters.
LAYER_MESSAGES = frozenset({"live.event", "live.catch_up", "session.end"})
CLOSE_SERVICE_RESTART = 1012  # RFC 6455: the client should reconnect (and catch up)
# A socket told to catch up asks within a random delay up to this: a thousand sockets told at once
# reach Postgres spread over this window (live.js draws the delay).
CATCH_UP_SPREAD_SECONDS = 5.0
# Client message type -> async handler(user, content) returning a reply (or None). Handlers are
# registered by the apps that own them (timelines: catch-up; messaging: sending a DM).
Handler = Callable[[Any, dict[str, Any]], Awaitable[dict[str, Any] | None]]
HANDLERS: dict[str, Handler] = {}


def handles(message_type: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        HANDLERS[message_type] = handler
        return handler

    return register


class UserConsumer(AsyncJsonWebsocketConsumer):  # type: ignore[misc]
    """Authenticates by the session cookie and forwards the user's own events, nothing else."""

    registered = False
    session_key = ""
    # The sweep's batched check asks the receivers' class which sessions live (tweethub.livesockets).
    sessions_alive = staticmethod(sessions_alive)
    # Set once the socket is closing (its session ended, or a resync): nothing more is sent.
    closing = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Hub deliveries and replies to the client run in different tasks: one send at a time.
        self._send_lock = asyncio.Lock()

    async def connect(self) -> None:
        user, session = self.scope.get("user"), self.scope.get("session")
        if user is None or not user.is_authenticated or session is None or not session.session_key:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        self.user, self.session_key = user, session.session_key
        try:
            await self.channel_layer.group_add(session_group(self.session_key), self.channel_name)
        except (redis.RedisError, OSError):  # the sweep still closes it when its session ends
            logger.warning("websocket of user %s not in its session group: Redis unavailable", user.pk)
        await live_sockets().join(user.pk, self)
        self.registered = True
        # The session was read before the socket joined its group: an end announced in between
        # reached nobody. Checked again now that any later announcement reaches it.
        if not await self.session_alive():
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        await self.accept()

    async def disconnect(self, code: int) -> None:
        if not self.registered:
            return
        self.registered = False
        await live_sockets().leave(self.user.pk, self)
        try:
            await self.channel_layer.group_discard(session_group(self.session_key), self.channel_name)
        except (redis.RedisError, OSError):  # the member expires with the group (group_expiry)
            logger.warning("websocket of user %s left in its session group: Redis unavailable", self.user.pk)

    async def send(self, *args: Any, **kwargs: Any) -> None:
        async with self._send_lock:
            await super().send(*args, **kwargs)

    async def close(self, code: int | bool | None = None, reason: str | None = None) -> None:
        self.closing = True
        await super().close(code=code, reason=reason)

    # --- Channel-layer messages (Channels dispatches {"type": "live.event"} to live_event) --------

    async def dispatch(self, message: dict[str, Any]) -> None:
        """Channels' dispatch runs close_old_connections in a worker thread before EVERY handler:
        one thread hop per live event per socket, which py-spy showed as a quarter of a web
        process's time while 500 sockets took 2 events a second (bench section "live"). These
        handlers never touch the database (what does, goes through database_sync_to_async, which
        closes old connections itself), so they are called directly; the socket's own messages
        (connect, receive, disconnect) keep Channels' path."""
        if message.get("type") in LAYER_MESSAGES:
            await getattr(self, get_handler_name(message))(message)
            return
        await super().dispatch(message)

    async def live_event(self, message: dict[str, Any]) -> None:
        """An event addressed to this socket's user (tweethub.realtime)."""
        if not self.closing:
            await self.send_json({"event": message["event"], "payload": message["payload"]})

    async def live_catch_up(self, message: dict[str, Any]) -> None:
        """The layer's receive failed and recovered (tweethub.channel_layer): events sent meanwhile
        may be lost, and so may presence (Redis restarted empty), which is written back first."""
        live_sockets().redis_came_back()
        await self.catch_up()

    async def session_end(self, message: dict[str, Any]) -> None:
        """The session of this socket ended (or, with "keep", every session of its user but that
        one): tweethub.realtime.sessions_ended."""
        if message.get("keep") and message["keep"] == session_group(self.session_key):
            return
        await self.session_ended(reconnect=bool(message.get("reconnect")))

    # --- Called by this process's socket registry (tweethub.livesockets) ---------------------------

    async def catch_up(self) -> None:
        """Events may have been missed: the page asks for them after a random delay (no reconnect)."""
        if not self.closing:
            await self.send_json(
                {"event": "live.catch_up", "payload": {"within_ms": int(CATCH_UP_SPREAD_SECONDS * 1000)}}
            )

    async def session_ended(self, *, reconnect: bool) -> None:
        """The socket's session is gone. `reconnect`: the session lives on under a new key (a
        password change in this browser), which the browser's reconnect uses; otherwise 4401,
        after which live.js does not reconnect."""
        if not self.closing:
            await self.close(code=CLOSE_SERVICE_RESTART if reconnect else CLOSE_UNAUTHENTICATED)

    async def session_alive(self) -> bool:
        alive: list[bool] = await database_sync_to_async(sessions_alive)(sockets=[(self.session_key, self.user.pk)])
        return alive[0]

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None, **kwargs: Any) -> None:
        """Malformed frames (binary, empty, not JSON, or JSON Python will not read, such as a number
        of 5,000 digits) are answered like an unknown message: the base class would raise, and
        closing the socket would cost the user their live updates."""
        try:
            content = json.loads(text_data) if text_data else None
        except ValueError:
            content = None
        await self.receive_json(content, **kwargs)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if self.closing:
            return
        # Nothing a client asks is done for a session that has ended, whether or not the end was
        # announced yet (a stolen cookie's socket must not read or send one more message).
        try:
            alive = await self.session_alive()
        except Exception:  # Postgres down, say: nothing is done, and the socket stays for later
            logger.exception("websocket session check failed")
            await self.send_json({"event": "error", "payload": {"message": "That did not work. Please try again."}})
            return
        if not alive:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        message_type = content.get("type") if isinstance(content, dict) else None
        handler = HANDLERS.get(str(message_type))
        if handler is None:
            await self.send_json({"event": "error", "payload": {"message": "Unknown message type."}})
            return
        try:
            reply = await handler(self.user, content)
        except Exception:  # not swallowed: logged with its traceback, and the client is told
            # A bug in one handler must not close the user's socket (and with it their live updates).
            logger.exception("websocket handler %s failed", message_type)
            reply = {"event": "error", "payload": {"message": "That did not work. Please try again."}}
        if reply is not None:
            await self.send_json(reply)
