"""Sessions in Postgres with a Redis copy in front, read together with their user in one round trip.

Django's cached_db store, with its own Redis copy instead of the cache framework's, so that one Lua
call (accounts.authcache.read_session) returns the session, its user's cached row and records the
user's activity: a warm authenticated request costs one Redis round trip and no SQL.

The copy is `sess:<session key>`, a hash: `d` = the session data as Django encodes it for Postgres
(signed, its serializer), `u` = the logged-in user's id ("" for none), expiring with the session.
Written after every save (best effort), deleted before the Postgres row on delete (strict).

Reading is best effort: Postgres is the truth, the copy only saves a query. Django's own store wrote
the cache unguarded after reading Postgres, and checked `exists` unguarded: with Redis down, every
logged-in request was a 500 although Postgres had the session (found by tests/faults). Deleting
is not best effort: logging out must not leave a copy that load() would trust.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import redis
from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.backends import cached_db, db
from django.contrib.sessions.base_session import AbstractBaseSession
from django.contrib.sessions.models import Session

from accounts import authcache
from tweethub.redis import client_for

logger = logging.getLogger(__name__)

# What a Redis client raises when the server is away (refused, reset, timed out).
CACHE_DOWN = (redis.RedisError, OSError)
KEY_PREFIX = "sess:"


def _redis() -> redis.Redis:
    return client_for(settings.CACHE_REDIS_URL)


class SessionStore(cached_db.SessionStore):
    # What the last load() learnt about the session's user, for accounts.middleware: the cached row
    # (None: not cached), the generation to fill it with, and whether activity was recorded.
    cached_user: authcache.CachedUser | None = None
    user_generation: str | None = None
    activity_recorded: bool = False
    _encoded: str | None = None

    def _copy_key(self, session_key: str) -> str:
        return KEY_PREFIX + session_key

    def load(self) -> dict[str, Any]:
        self.cached_user, self.user_generation, self.activity_recorded = None, None, False
        session_key = self.session_key
        assert session_key is not None  # SessionBase loads only sessions that have a key
        try:
            read = authcache.read_session(session_key=self._copy_key(session_key), now_ms=int(time.time() * 1000))
        except CACHE_DOWN:
            logger.warning("session cache unavailable; served from Postgres", exc_info=True)
            read = None
        if read is not None:
            data = self.decode(read.session_data)
            if data:
                if read.user_id is not None and str(read.user_id) == str(data.get(SESSION_KEY)):
                    self.cached_user, self.user_generation = read.row, read.generation
                    self.activity_recorded = True
                return dict(data)
        stored: Session | None = self._get_session_from_db()  # type: ignore[attr-defined]  # missing from django-stubs
        if not stored:
            return {}
        data = self.decode(stored.session_data)
        self._write_copy(stored.session_data, data, self.get_expiry_age(expiry=stored.expire_date))
        return dict(data)

    def _write_copy(self, encoded: str, data: dict[str, Any], seconds: int) -> None:
        if self.session_key is None or seconds <= 0:
            return
        key = self._copy_key(self.session_key)
        try:
            with _redis().pipeline(transaction=True) as pipe:
                pipe.hset(key, mapping={"d": encoded, "u": str(data.get(SESSION_KEY) or "")})
                pipe.expire(key, seconds)
                pipe.execute()
        except CACHE_DOWN:
            logger.warning("session cache unavailable; session kept in Postgres only", exc_info=True)

    def create_model_instance(self, data: dict[str, Any]) -> AbstractBaseSession:
        # Remember the encoding saved to Postgres, so the Redis copy is the same bytes.
        instance = super().create_model_instance(data)
        self._encoded = instance.session_data
        return instance

    def save(self, must_create: bool = False) -> None:
        db.SessionStore.save(self, must_create)  # Postgres only: the copy is written below
        encoded, self._encoded = self._encoded, None
        if encoded is not None:  # None: save() went through create(), which wrote the copy
            self._write_copy(encoded, self._get_session(), self.get_expiry_age())  # type: ignore[attr-defined]

    def exists(self, session_key: str | None) -> bool:
        if not session_key:
            return False
        try:
            if _redis().exists(self._copy_key(session_key)):
                return True
        except CACHE_DOWN:
            logger.warning("session cache unavailable; checked Postgres", exc_info=True)
        return bool(db.SessionStore.exists(self, session_key))

    def delete(self, session_key: str | None = None) -> None:
        """Logging out must end the session everywhere, so here the copy is NOT best effort: it is
        deleted first and a failure stops the logout (an error page, still logged in), rather than
        leaving a copy that load() would trust after the Postgres row is gone."""
        if session_key is None:
            if self.session_key is None:
                return
            session_key = self.session_key
        _redis().delete(self._copy_key(session_key))
        db.SessionStore.delete(self, session_key)

    # The async API (Django 5.1+) does the same, in a thread: the store is synchronous at heart.
    async def aload(self) -> dict[str, Any]:
        return await sync_to_async(self.load)()

    async def aexists(self, session_key: str | None) -> bool:
        return await sync_to_async(self.exists)(session_key)

    async def asave(self, must_create: bool = False) -> None:
        await sync_to_async(self.save)(must_create)

    async def adelete(self, session_key: str | None = None) -> None:
        await sync_to_async(self.delete)(session_key)
