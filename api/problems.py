"""Errors as RFC 9457 problem details (application/problem+json), one shape for every error the
API answers: type, title, status, detail, and `errors` (field, message) for invalid input.

Each exception a service or selector raises maps to the status its RFC means:
  401  no credentials, or a wrong, revoked or suspended user's token (with WWW-Authenticate)
  403  authenticated but not allowed: someone else's tweet, an unverified account, a refused message,
       a token without the scope (error="insufficient_scope"), a failed CSRF check
  400  a body that cannot be parsed
  404  no such user, tweet, conversation or route
  405  a method the route does not take (with Allow)
  409  the request conflicts with what exists (a token name already taken)
  422  well-formed input that is not acceptable (field errors), a malformed cursor
  429  a rate limit, with Retry-After, the limits the pages use
  503  the database is unreachable, with Retry-After
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from http import HTTPStatus
from typing import Any

from django.core.exceptions import BadRequest, ObjectDoesNotExist, PermissionDenied, SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpRequest, HttpResponse
from django.http.multipartparser import MultiPartParserError
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError

from api.services import TokenNameTaken
from tweethub import views as site_views
from tweethub.ratelimit import RateLimited

logger = logging.getLogger(__name__)

MEDIA_TYPE = "application/problem+json"
# Problem types: relative URIs under the API's own documentation (RFC 9457 3.1.1 allows relative
# references); "about:blank" where the status says all.
TYPE_BASE = "/api/v1/docs/#problem-"


class Problem(Exception):
    """Raise from an operation to answer a problem: `Problem(404, "No such user.")`."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        kind: str | None = None,
        errors: list[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status, self.detail, self.kind = status, detail, kind
        self.errors, self.headers = errors, headers or {}


def problem_response(
    status: int,
    detail: str,
    *,
    kind: str | None = None,
    errors: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
) -> HttpResponse:
    body: dict[str, Any] = {
        "type": f"{TYPE_BASE}{kind}" if kind else "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
    }
    if errors is not None:
        body["errors"] = errors
    response = HttpResponse(json.dumps(body), status=status, content_type=MEDIA_TYPE)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def field_errors(error: DjangoValidationError) -> list[dict[str, str]]:
    """A service's ValidationError as (field, message) pairs; "" names no field."""
    if hasattr(error, "error_dict"):
        return [
            {"field": "" if field == "__all__" else field, "message": message}
            for field, messages in error.message_dict.items()
            for message in messages
        ]
    return [{"field": "", "message": message} for message in error.messages]


def _location(loc: Iterable[Any]) -> str:
    # ninja: ("body", "payload", "text") / ("query", "cursor"): the client's name is the last part.
    parts = [str(part) for part in loc]
    return parts[-1] if parts else ""


BEARER_CHALLENGE = 'Bearer realm="api"'


def install(api: NinjaAPI) -> None:
    """Every error the API answers goes through here (ninja's own handlers replaced)."""

    @api.exception_handler(Problem)
    def _problem(request: HttpRequest, exc: Problem) -> HttpResponse:
        return problem_response(exc.status, exc.detail, kind=exc.kind, errors=exc.errors, headers=exc.headers)

    @api.exception_handler(NinjaValidationError)
    def _invalid(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
        errors = [
            {"field": _location(error.get("loc", ())), "message": str(error.get("msg", ""))} for error in exc.errors
        ]
        return problem_response(422, "The request has invalid values.", kind="invalid", errors=errors)

    @api.exception_handler(DjangoValidationError)
    def _refused(request: HttpRequest, exc: DjangoValidationError) -> HttpResponse:
        errors = field_errors(exc)
        detail = errors[0]["message"] if len(errors) == 1 else "The request has invalid values."
        return problem_response(422, detail, kind="invalid", errors=errors)

    @api.exception_handler(AuthenticationError)
    def _unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
        detail = "Log in, or send a personal access token: Authorization: Bearer <token>."
        return problem_response(401, detail, kind="unauthenticated", headers={"WWW-Authenticate": BEARER_CHALLENGE})

    @api.exception_handler(HttpError)
    def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
        # ninja's own: an unparsable body (400), a failed CSRF check (403).
        if exc.status_code == 403:
            return problem_response(403, "CSRF check failed: send the X-CSRFToken header.", kind="csrf")
        return problem_response(exc.status_code, str(exc))

    def _unreadable(request: HttpRequest, exc: Exception | type[Exception]) -> HttpResponse:
        # A body Django cannot read (a multipart type without its boundary, too many fields): the
        # CSRF check of a session reads the form before any operation runs.
        return problem_response(400, "The request body could not be read.")

    for unreadable in (MultiPartParserError, SuspiciousOperation, BadRequest):
        api.add_exception_handler(unreadable, _unreadable)

    @api.exception_handler(PermissionDenied)
    def _forbidden(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
        return problem_response(403, str(exc) or "You may not do that.", kind="forbidden")

    @api.exception_handler(Http404)
    def _missing(request: HttpRequest, exc: Http404) -> HttpResponse:
        return problem_response(404, "Not found.")

    @api.exception_handler(ObjectDoesNotExist)
    def _no_object(request: HttpRequest, exc: ObjectDoesNotExist) -> HttpResponse:
        return problem_response(404, "Not found.")

    @api.exception_handler(TokenNameTaken)
    def _conflict(request: HttpRequest, exc: TokenNameTaken) -> HttpResponse:
        return problem_response(409, exc.message, kind="conflict", errors=[{"field": "name", "message": exc.message}])

    @api.exception_handler(RateLimited)
    def _limited(request: HttpRequest, exc: RateLimited) -> HttpResponse:
        headers = {"Retry-After": str(exc.retry_after)}
        return problem_response(429, exc.message, kind="rate-limited", headers=headers)

    @api.exception_handler(Exception)
    def _unhandled(request: HttpRequest, exc: Exception) -> HttpResponse:
        # The pages' rule (tweethub.views.server_error_page): an unreachable database is a 503 with
        # Retry-After, anything else a bug (500), logged with its traceback.
        if isinstance(exc, OperationalError | InterfaceError):
            page = site_views.server_error_page(exc)
            detail = "The database is unavailable for a moment. Please try again."
            return problem_response(503, detail, headers={"Retry-After": page["Retry-After"]})
        logger.error("API error on %s", request.path, exc_info=exc)
        return problem_response(500, "Something went wrong on our side.")
