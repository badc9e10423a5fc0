from __future__ import annotations

from django.urls import path

# Importing these registers their websocket message handlers (tweethub.consumers.handles).
import messaging.realtime  # noqa: F401
import timelines.live  # noqa: F401
from tweethub.consumers import UserConsumer

websocket_urlpatterns = [
    path("ws/", UserConsumer.as_asgi()),
]
