"""JSON out through pydantic-core's serializer (Rust): datetimes and all, without the stdlib
encoder's Python `default` hook per value (ninja's own renderer)."""

from __future__ import annotations

from typing import Any

import pydantic_core
from django.http import HttpRequest
from ninja.renderers import BaseRenderer


class JSONRenderer(BaseRenderer):
    media_type = "application/json"
    charset = "utf-8"

    def render(self, request: HttpRequest, data: Any, *, response_status: int) -> bytes:
        return pydantic_core.to_json(data)
