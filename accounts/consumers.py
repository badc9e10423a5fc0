"""The websocket endpoint /ws/: one socket per open page, registered under its own user.

The consumer only authenticates, registers with this process's live-event hub under the
authenticated user (tweethub.livehub), forwards the events addressed to that user, and dispatches
the few messages a client may send to the app that handles them. Who receives what is decided by
services (tweethub.realtime), never here.

A socket lives no longer than the session it was opened with (issue 17): it is registered under
that session, closed with CLOSE_UNAUTHENTICATED when the session ends (announced by
tweethub.livehub, or found by its sweep), and re-checks the session before acting on any client
message (accounts.sessions_end.sessions_alive: one Redis round trip when warm).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from accounts.sessions_end import sessions_alive
from tweethub.livehub import CLOSE_SERVICE_RESTART, hub

logger = logging.getLogger(__name__)

CLOSE_UNAUTHENTICATED = 4401
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
    # The hub's batched sweep asks the receivers' class which sessions live (tweethub.livehub).
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
        await hub().join(user.pk, self)
        self.registered = True
        # The session was read before the hub knew this socket: an end announced in between
        # reached nobody. Checked again now that any later announcement reaches it.
        if not await self.session_alive():
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        await self.accept()

    async def disconnect(self, code: int) -> None:
        if not self.registered:
            return
        self.registered = False
        await hub().leave(self.user.pk, self)

    async def send(self, *args: Any, **kwargs: Any) -> None:
        async with self._send_lock:
            await super().send(*args, **kwargs)

    async def close(self, code: int | bool | None = None, reason: str | None = None) -> None:
        self.closing = True
        await super().close(code=code, reason=reason)

    async def deliver(self, event: str, payload: dict[str, Any]) -> None:
        """Called by the hub for events addressed to this socket's user."""
        if not self.closing:
            await self.send_json({"event": event, "payload": payload})

    async def resync(self) -> None:
        """Events may have been missed: make the browser reconnect, which catches up."""
        if not self.closing:
            await self.close(code=CLOSE_SERVICE_RESTART)

    async def session_ended(self, *, reconnect: bool) -> None:
        """Called by the hub when the socket's session is gone. `reconnect`: the session lives on
        under a new key (a password change in this browser), which the browser's reconnect uses;
        otherwise 4401, after which live.js does not reconnect."""
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
