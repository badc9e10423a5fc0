"""The websocket endpoint /ws/: one socket per open page, joined to its user's own group."""

from __future__ import annotations

from typing import Any

from channels.generic.websocket import AsyncJsonWebsocketConsumer

from tweethub.realtime import group_for

CLOSE_UNAUTHENTICATED = 4401


class UserConsumer(AsyncJsonWebsocketConsumer):  # type: ignore[misc]
    """Authenticates by the session cookie and forwards the user's own events, nothing else."""

    group: str | None = None

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        self.group = group_for(user.pk)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        if self.group is not None:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def realtime_event(self, message: dict[str, Any]) -> None:
        await self.send_json({"event": message["event"], "payload": message["payload"]})
