from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.deprecation import MiddlewareMixin

from tweethub.ratelimit import RateLimited


class ContentSecurityPolicyMiddleware(MiddlewareMixin):
    """Adds settings.CONTENT_SECURITY_POLICY to every response that has no policy of its own (a view
    may send its own, such as a captured mail's HTML). With DEBUG on, Django's technical 404 and 500
    pages are left without one: they are built on inline script and style."""

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        if settings.DEBUG and response.status_code in (404, 500):
            return response
        response.headers.setdefault("Content-Security-Policy", settings.CONTENT_SECURITY_POLICY)
        return response


class RateLimitedMiddleware:
    """Turns a RateLimited raised by any service into a readable 429 page with Retry-After."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, RateLimited):
            return None
        minutes = max(1, round(exception.retry_after / 60))
        response = render(
            request,
            "429.html",
            {
                "message": exception.message,
                "retry_after": exception.retry_after,
                "minutes": minutes,
            },
            status=429,
        )
        response["Retry-After"] = str(exception.retry_after)
        return response
