"""Who is calling: a personal access token (Authorization: Bearer), or the browser's session.

Operations name the scope they need (`authenticated(Scope.READ)`, ...). A token answers for its
own user only, with its own scopes; a session holds every scope but must pass Django's CSRF check
on unsafe methods (the cookie is sent by the browser whoever asked it to). Public reads also take
anonymous callers (`public()`): pages are public, so is their JSON.

Refusals: no credentials 401; a token that is malformed, unknown, revoked or whose user is
suspended or deactivated 401, counted as a failed login from the caller's address (the login
form's RATE_LIMIT_LOGIN_PER_IP, so both draw on one budget; 429 past it); a token without the
scope 403 (error="insufficient_scope"). A token only ever reaches /api/v1/: the pages, captured
mail (mailcatcher) and the admin panel read the session alone, so a token never reaches them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone
from ninja.security import HttpBearer
from ninja.security.apikey import APIKeyCookie

from accounts.models import User
from accounts.services import user_touch_last_active
from api import selectors, services
from api.models import Scope
from api.problems import BEARER_CHALLENGE, Problem
from tweethub.http import client_ip
from tweethub.ratelimit import hit, rate_setting

ALL_SCOPES = frozenset(Scope.values)


@dataclass(frozen=True)
class Caller:
    """request.auth in every operation: the user (None for an anonymous caller of a public read),
    the scopes they hold, and how they came ("token", "session" or "anonymous")."""

    user: User | None
    scopes: frozenset[str]
    via: str

    @property
    def user_id(self) -> int | None:
        return self.user.pk if self.user is not None else None


def _unauthorized(request: HttpRequest, detail: str) -> Problem:
    hit(
        scope="login-ip",
        key=client_ip(request),
        rate=rate_setting("RATE_LIMIT_LOGIN_PER_IP"),
        message="Too many failed logins from your network. Please wait a little.",
    )
    challenge = f'{BEARER_CHALLENGE}, error="invalid_token"'
    return Problem(401, detail, kind="invalid-token", headers={"WWW-Authenticate": challenge})


class TokenAuth(HttpBearer):
    """Authorization: Bearer thp_...: one indexed query (token joined with its user); last_active
    and last_used_at are written only when older than their resolutions."""

    def __init__(self, scope: str | None) -> None:
        super().__init__()
        self.scope = scope

    def authenticate(self, request: HttpRequest, token: str) -> Caller:
        found = selectors.token_by_secret(token)
        if found is None:
            raise _unauthorized(request, "That token is not valid: it may have been revoked.")
        user = found.user
        if not user.is_active:
            raise _unauthorized(request, "That token's account is suspended or deactivated.")
        if self.scope is not None and self.scope not in found.scopes:
            challenge = f'{BEARER_CHALLENGE}, error="insufficient_scope", scope="{self.scope}"'
            raise Problem(
                403,
                f"This needs a token with the {self.scope!r} scope.",
                kind="insufficient-scope",
                headers={"WWW-Authenticate": challenge},
            )
        services.token_touch(token=found)
        if _stale(user):
            user_touch_last_active(user=user)
        request.user = user
        return Caller(user=user, scopes=frozenset(found.scopes), via="token")


def _stale(user: User) -> bool:
    """Whether last_active may need recording: the loaded row is older than the resolution (the
    activity flush writes it within resolution + flush period, so a steady caller skips Redis)."""
    if user.last_active is None:
        return True
    return timezone.now() - user.last_active > timedelta(seconds=settings.LAST_ACTIVE_RESOLUTION_SECONDS)


class SessionAuth(APIKeyCookie):
    """The browser's login. CSRF is checked (unsafe methods only, Django's rule) once a logged-in
    session is found: an anonymous request moves on (to a 401), not to a CSRF refusal."""

    param_name = settings.SESSION_COOKIE_NAME

    def __init__(self) -> None:
        super().__init__(csrf=True)

    def _get_key(self, request: HttpRequest) -> str | None:
        if not request.user.is_authenticated:
            return None
        return super()._get_key(request)

    def authenticate(self, request: HttpRequest, key: str | None) -> Caller | None:
        user: Any = request.user
        if key is None or not user.is_authenticated:
            return None
        return Caller(user=user, scopes=ALL_SCOPES, via="session")


class Anonymous:
    """Last in a public read's list: no credentials at all is a visitor, as on the pages."""

    def __call__(self, request: HttpRequest) -> Caller:
        return Caller(user=None, scopes=frozenset(), via="anonymous")


def authenticated(scope: str | None) -> list[Any]:
    """Token (with `scope`) or session; anything else 401."""
    return [TokenAuth(scope), SessionAuth()]


def session_only() -> list[Any]:
    """Managing tokens: the person in the browser, never a token (a leaked token cannot mint more)."""
    return [SessionAuth()]


def public() -> list[Any]:
    """A public read: a token of any scope, a session, or nobody."""
    return [TokenAuth(None), SessionAuth(), Anonymous()]


def caller(request: HttpRequest) -> Caller:
    return request.auth  # type: ignore[attr-defined, no-any-return]


def user_of(request: HttpRequest) -> User:
    """The authenticated user (operations whose auth admits no anonymous caller)."""
    user = caller(request).user
    assert user is not None
    return user
