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

import logging
from dataclasses import dataclass
from typing import Any

import redis
from django.conf import settings
from django.http import HttpRequest
from ninja.security import HttpBearer
from ninja.security.apikey import APIKeyCookie

from accounts import authcache
from accounts.models import User
from accounts.services import user_touch_last_active
from api import selectors, services, tokencache, tokens
from api.models import Scope
from api.problems import BEARER_CHALLENGE, Problem
from tweethub.http import client_ip
from tweethub.ratelimit import hit, rate_setting

logger = logging.getLogger(__name__)
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
    """Authorization: Bearer thp_... Warm: one Redis call (api.tokencache: the token's cached copy,
    its user's cached row, the user's activity recorded) and no SQL, as a page's session read.
    Otherwise one indexed query (the token joined with its user), then the copies are filled."""

    def __init__(self, scope: str | None) -> None:
        super().__init__()
        self.scope = scope

    def authenticate(self, request: HttpRequest, token: str) -> Caller:
        if not tokens.well_formed(token):
            raise _unauthorized(request, "That is not a TweetHub token (they start with thp_).")
        digest = tokens.digest(token)
        try:
            cached = tokencache.read(digest)
        except (redis.RedisError, OSError):
            logger.warning("token cache unavailable; reading the token from Postgres", exc_info=True)
            cached = None
        if cached is not None and cached.revoked:
            raise _unauthorized(request, "That token is not valid: it may have been revoked.")
        if cached is not None and cached.row is not None and cached.row.is_active:
            user, scopes = cached.row.build(), cached.scopes
        else:
            user, scopes = _from_postgres(request, digest, cached)
        if self.scope is not None and self.scope not in scopes:
            challenge = f'{BEARER_CHALLENGE}, error="insufficient_scope", scope="{self.scope}"'
            raise Problem(
                403,
                f"This needs a token with the {self.scope!r} scope.",
                kind="insufficient-scope",
                headers={"WWW-Authenticate": challenge},
            )
        request.user = user
        return Caller(user=user, scopes=scopes, via="token")


def _from_postgres(
    request: HttpRequest, digest: str, cached: tokencache.TokenRead | None
) -> tuple[User, frozenset[str]]:
    """The token and its user from Postgres (a cold or expired copy, a user row dropped by a change
    of the account): refused unless both exist and the user is active; then the copies are filled,
    last_used_at stamped and, when the cached read did not record it, the user's activity."""
    found = selectors.token_by_digest(digest)
    if found is None:
        raise _unauthorized(request, "That token is not valid: it may have been revoked.")
    user = found.user
    if not user.is_active:
        raise _unauthorized(request, "That token's account is suspended or deactivated.")
    services.token_touch(token=found)
    if cached is None:
        user_touch_last_active(user=user)
    try:
        tokencache.fill(digest=digest, token_id=found.pk, user_id=user.pk, scopes=found.scopes)
    except (redis.RedisError, OSError):
        logger.warning("token cache unavailable; token not cached", exc_info=True)
    if cached is not None and cached.generation is not None:
        authcache.store(user=user, generation=cached.generation)
    return user, frozenset(found.scopes)


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
