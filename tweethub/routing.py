from __future__ import annotations

from django.urls import path

from tweethub.consumers import UserConsumer

websocket_urlpatterns = [
    path("ws/", UserConsumer.as_asgi()),
]
