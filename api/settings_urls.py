from __future__ import annotations

from django.urls import path

from api import settings_views

urlpatterns = [
    path("", settings_views.tokens, name="settings_tokens"),
    path("<int:token_id>/revoke/", settings_views.revoke, name="settings_token_revoke"),
]
