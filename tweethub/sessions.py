"""Sessions in Postgres with a Redis copy in front, that keep working while Redis is away.

Django's cached_db store guards its cache read but not the cache write it makes after loading a
session from the database, nor the cache lookup of `exists` (logging in). With Redis down, every
logged-in request was a 500 although Postgres had the session (found by tests/faults). Reading
here is best effort: Postgres is the truth, the cache only saves a query. Deleting is not.
"""

from __future__ import annotations

import logging
from typing import Any

import redis
from django.conf import settings
from django.contrib.sessions.backends import cached_db, db
from django.core.cache import BaseCache, caches

logger = logging.getLogger(__name__)

# What a Redis cache raises when the server is away (refused, reset, timed out).
CACHE_DOWN = (redis.RedisError, OSError)


class SessionStore(cached_db.SessionStore):
    @property
    def _sessions_cache(self) -> BaseCache:
        return caches[settings.SESSION_CACHE_ALIAS]

    def load(self) -> dict[str, Any]:
        try:
            data = self._sessions_cache.get(self.cache_key)
        except CACHE_DOWN:
            data = None
        if data is not None:
            return dict(data)
        stored = self._get_session_from_db()  # type: ignore[attr-defined]  # missing from django-stubs
        if not stored:
            return {}
        data = self.decode(stored.session_data)
        try:
            self._sessions_cache.set(self.cache_key, data, self.get_expiry_age(expiry=stored.expire_date))
        except CACHE_DOWN:
            logger.warning("session cache unavailable; served from Postgres", exc_info=True)
        return dict(data)

    def exists(self, session_key: str | None) -> bool:
        if not session_key:
            return False
        try:
            if (self.cache_key_prefix + session_key) in self._sessions_cache:
                return True
        except CACHE_DOWN:
            logger.warning("session cache unavailable; checked Postgres", exc_info=True)
        return bool(db.SessionStore.exists(self, session_key))

    def delete(self, session_key: str | None = None) -> None:
        """Logging out must end the session everywhere, so here the cache is NOT best effort: it
        is cleared first and a failure stops the logout (an error page, still logged in), rather
        than leaving a cached copy that load() would trust after the Postgres row is gone."""
        if session_key is None:
            if self.session_key is None:
                return
            session_key = self.session_key
        self._sessions_cache.delete(self.cache_key_prefix + session_key)
        db.SessionStore.delete(self, session_key)
