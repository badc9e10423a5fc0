from __future__ import annotations

import logging
import sys
from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import BadRequest, SuspiciousOperation
from django.core.signals import got_request_exception
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import render
from django.utils.deprecation import MiddlewareMixin
from django.utils.log import log_response
from django.utils.safestring import SafeString, mark_safe
from django.views.debug import ExceptionReporter

from tweethub import views
from tweethub.ratelimit import RateLimited


class ContentSecurityPolicyMiddleware(MiddlewareMixin):
    """Adds settings.CONTENT_SECURITY_POLICY to every response that has no policy of its own (a view
    may send its own, such as a captured mail's HTML). Error pages included, with DEBUG on too:
    ErrorPagesMiddleware serves the site's own pages there instead of Django's technical ones."""

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
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


# Where got_request_exception leaves the exception Django is about to answer with a 500.
_UNHANDLED = "_unhandled_exception"


def _remember_unhandled(sender: object, request: HttpRequest | None = None, **kwargs: object) -> None:
    """Django sends got_request_exception for every exception it answers with a 500, from a view or
    from a middleware, just before it builds that answer: keep it on the request, so that
    ErrorPagesMiddleware can tell a database outage (503) from a bug (500) under DEBUG."""
    if request is not None:
        setattr(request, _UNHANDLED, sys.exc_info()[1])


got_request_exception.connect(_remember_unhandled, dispatch_uid="tweethub.middleware.unhandled")


class _ReplacedTechnicalPage(ExceptionReporter):
    """Django's technical 500 page, not built: under DEBUG, ErrorPagesMiddleware replaces every one.

    Building it was not only wasted but slow when Postgres is down: it prints every frame's local
    variables and the user, and printing a QuerySet (or loading request.user) queries, so each one
    waited for the pool again (over 25 s a page, issue 17). The console keeps the traceback: Django
    logs the exception with it before it builds the page."""

    def get_traceback_html(self) -> SafeString:
        return mark_safe("<!-- a technical 500 page, replaced by tweethub.middleware.ErrorPagesMiddleware -->")

    def get_traceback_text(self) -> SafeString:
        return mark_safe("A technical 500 page, replaced by tweethub.middleware.ErrorPagesMiddleware.")


class ErrorPagesMiddleware(MiddlewareMixin):
    """The site's own 400, 404, 405, 500 and 503 pages in every mode, never Django's technical ones.

    With DEBUG off Django renders errors through the handlers in tweethub.urls already. With DEBUG on
    it shows technical pages instead: a 404 listing every route, a traceback page (unstyled, since
    the Content-Security-Policy blocks its inline styles) for a malformed cursor. `make run DEBUG=1`
    still serves visitors, so under DEBUG this middleware answers as DEBUG off would:
    - Http404, BadRequest and SuspiciousOperation from a view: the 404 or 400 page (process_exception;
      PermissionDenied needs nothing, Django uses handler403 in every mode);
    - a URL no route matches: Django resolves it before any view runs, so no process_exception ever
      sees that Http404; process_response swaps the technical 404 (no resolver_match) for the page;
    - any exception answered with a 500, from a view or from a middleware below this one (sessions
      and users when Postgres is down): process_response swaps the technical 500 for
      server_error_page's 500 or 503. Django has logged it with its traceback already, so the
      console keeps it.
    In every mode, the empty 405 of require_GET / require_POST becomes the 405 page.
    """

    def process_request(self, request: HttpRequest) -> None:
        if settings.DEBUG:
            # Django builds its technical 500 page with the request's reporter class: one that
            # builds nothing, since process_response replaces that page anyway.
            request.exception_reporter_class = _ReplacedTechnicalPage  # type: ignore[attr-defined]

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not settings.DEBUG:
            return None  # Django calls the handlers itself
        if isinstance(exception, Http404):
            return views.page_not_found(request, exception)
        if isinstance(exception, SuspiciousOperation):
            # Logged as Django logs it with DEBUG off: its own security logger, as an error.
            response = views.bad_request(request, exception)
            security_logger = logging.getLogger(f"django.security.{exception.__class__.__name__}")
            log_response(str(exception), exception=exception, request=request, response=response,
                         level="error", logger=security_logger)  # fmt: skip
            return response
        if isinstance(exception, BadRequest):
            return views.bad_request(request, exception)
        return None

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        if isinstance(response, HttpResponseNotAllowed) and not response.content:
            return views.method_not_allowed(request, response["Allow"])
        if not settings.DEBUG:
            return response
        if response.status_code == 404 and request.resolver_match is None:
            return views.page_not_found(request)
        if response.status_code == 500 and hasattr(request, _UNHANDLED):
            page = views.server_error_page(getattr(request, _UNHANDLED))
            # Django logged the exception, traceback and all, with the page this one replaces: the
            # mark (django.utils.log.log_response) keeps the handler from logging it again.
            page._has_been_logged = True  # type: ignore[attr-defined]
            return page
        return response
