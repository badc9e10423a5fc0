from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from accounts.services import user_touch_last_active


class LastActiveMiddleware:
    """Keeps users' last_active fresh (fan-out skips inactive users); see user_touch_last_active."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            user_touch_last_active(user=request.user)
        return self.get_response(request)
