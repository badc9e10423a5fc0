"""Startup checks (Django's system check framework): a configuration that would loop mail forever
is refused by `manage.py check`, `runserver`, `migrate` and every management command, before any
mail is captured. services.mail_deliver refuses it again at run time (settings can change)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, register
from django.utils.module_loading import import_string


@register()
def delivery_backend_check(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    path = settings.MAIL_DELIVERY_BACKEND
    if not path:
        return []  # captured only, never delivered: the default
    try:
        backend = import_string(path)
    except ImportError as error:
        return [Error(f"MAIL_DELIVERY_BACKEND {path!r} cannot be imported: {error}", id="mailcatcher.E002")]
    if getattr(backend, "captures", False):
        return [
            Error(
                "MAIL_DELIVERY_BACKEND must not be a capturing backend: delivering captured mail "
                "through it would capture it again, forever.",
                hint="Leave it empty (mail is only captured) or name a sending backend (SMTP).",
                id="mailcatcher.E001",
            )
        ]
    return []
