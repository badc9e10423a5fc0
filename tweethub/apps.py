from __future__ import annotations

from django.apps import AppConfig


class TweetHubConfig(AppConfig):
    """The project package as an app, for what belongs to no feature: the task outbox."""

    name = "tweethub"
    default_auto_field = "django.db.models.BigAutoField"
