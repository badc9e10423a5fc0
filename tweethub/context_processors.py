from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def site(request: HttpRequest) -> dict[str, object]:
    """Site-wide template values; no queries here (templates must stay query-free)."""
    return {"DEMO_MODE": settings.DEMO_MODE}
