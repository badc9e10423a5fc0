"""request.user without a query, and activity recorded without a write on the request path."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib import auth
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.middleware import AuthenticationMiddleware
from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest, HttpResponse
from django.utils.crypto import constant_time_compare
from django.utils.functional import SimpleLazyObject

from accounts import authcache
from accounts.models import User
from accounts.services import user_touch_last_active

AnyUser = AbstractBaseUser | AnonymousUser


def _user_from_cache(request: HttpRequest) -> User | None:
    """The session's user built from its cached row (accounts.authcache), or None to let Django
    decide. Only a session whose auth hash matches the cached one, of an active user, logged in
    through a backend still configured, is answered here; everything else (no row, a changed
    password, a rotated SECRET_KEY, a deactivated account) goes through Django's get_user, which
    also flushes a session whose hash no longer verifies."""
    session = request.session
    try:
        session_user_id = str(session[SESSION_KEY])
        backend_path = session[BACKEND_SESSION_KEY]
    except KeyError:
        return None
    cached: authcache.CachedUser | None = getattr(session, "cached_user", None)
    if cached is None or str(cached.user_id) != session_user_id:
        return None
    if backend_path not in settings.AUTHENTICATION_BACKENDS or not cached.is_active:
        return None
    session_hash = session.get(HASH_SESSION_KEY)
    if not session_hash or not constant_time_compare(session_hash, cached.auth_hash):
        return None
    return cached.build()


def get_user(request: HttpRequest) -> AnyUser:
    if not hasattr(request, "_cached_user"):
        user: AnyUser | None = _user_from_cache(request)
        if user is None:
            user = auth.get_user(request)
            generation = getattr(request.session, "user_generation", None)
            # Refill only when this request's session read saw the row missing (and so read the
            # generation before Postgres was): a fill can then never undo a newer invalidation.
            if isinstance(user, User) and generation is not None:
                authcache.store(user=user, generation=generation)
        request._cached_user = user  # type: ignore[attr-defined]
    return request._cached_user  # type: ignore[attr-defined, no-any-return]


async def auser(request: HttpRequest) -> AnyUser:
    if not hasattr(request, "_acached_user"):
        request._acached_user = await sync_to_async(get_user)(request)  # type: ignore[attr-defined]
    return request._acached_user  # type: ignore[attr-defined, no-any-return]


class CachedUserAuthenticationMiddleware(AuthenticationMiddleware):
    """Django's AuthenticationMiddleware, with request.user built from the auth-user cache when the
    session store found it warm: 0 SQL queries, and no Redis round trip beyond the session's."""

    def process_request(self, request: HttpRequest) -> None:
        super().process_request(request)  # checks that the session middleware ran
        request.user = SimpleLazyObject(lambda: get_user(request))  # type: ignore[assignment]
        request.auser = partial(auser, request)  # type: ignore[assignment]


class LastActiveMiddleware:
    """Keeps users' last_active fresh (fan-out skips inactive users). The session read already
    queued the activity in Redis (accounts.authcache.read_session) for warm sessions; the others
    (a session served from Postgres) go through user_touch_last_active."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated and not getattr(request.session, "activity_recorded", False):
            user_touch_last_active(user=request.user)
        return self.get_response(request)
