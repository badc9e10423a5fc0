"""The site's URLs plus views and a middleware that fail on purpose (tests/tweethub/test_error_pages.py)."""

from __future__ import annotations

from collections.abc import Callable

from django.core.exceptions import PermissionDenied, SuspiciousOperation
from django.db import OperationalError
from django.http import HttpRequest, HttpResponse
from django.urls import path

from tweethub.ratelimit import RateLimited
from tweethub.urls import handler400, handler403, handler404, handler500
from tweethub.urls import urlpatterns as site_urlpatterns

# In a failing view's locals and message: a debug page would show it, ours must not.
CANARY = "canary-7f3a-local-detail"

__all__ = ["handler400", "handler403", "handler404", "handler500", "urlpatterns"]


def forbidden(request: HttpRequest) -> HttpResponse:
    raise PermissionDenied("Only the owner may do that.")


def broken(request: HttpRequest) -> HttpResponse:
    detail = CANARY
    raise RuntimeError(f"a bug near {detail}")


def database_down(request: HttpRequest) -> HttpResponse:
    raise OperationalError(f"connection refused ({CANARY})")


def suspicious(request: HttpRequest) -> HttpResponse:
    raise SuspiciousOperation(f"tampered input ({CANARY})")


def rate_limited(request: HttpRequest) -> HttpResponse:
    raise RateLimited(scope="test", retry_after=120, message="You have tried that too often.")


urlpatterns = [
    path("test-errors/forbidden/", forbidden),
    path("test-errors/broken/", broken),
    path("test-errors/database-down/", database_down),
    path("test-errors/suspicious/", suspicious),
    path("test-errors/rate-limited/", rate_limited),
    *site_urlpatterns,
]


class DatabaseDownInMiddleware:
    """Fails the way the session and user lookups fail with Postgres down: in a middleware, before
    any view, for requests carrying the X-Fail-In-Middleware header."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if "x-fail-in-middleware" in request.headers:
            raise OperationalError(f"the pool timed out ({CANARY})")
        return self.get_response(request)
