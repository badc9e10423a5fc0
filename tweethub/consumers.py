"""The websocket endpoint /ws/: one socket per open page, joined to its user's own group.

The consumer only authenticates, joins the user's own group, forwards that group's events and
dispatches the few messages a client may send to the app that handles them. Who receives what is
decided by services (tweethub.realtime), never here.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from tweethub import presence
from tweethub.realtime import group_for

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

    group: str | None = None

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        self.user = user
        self.group = group_for(user.pk)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await database_sync_to_async(presence.connected)(user.pk)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        if self.group is not None:
            await self.channel_layer.group_discard(self.group, self.channel_name)
            await database_sync_to_async(presence.disconnected)(self.user.pk)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
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

    async def realtime_event(self, message: dict[str, Any]) -> None:
        await self.send_json({"event": message["event"], "payload": message["payload"]})
