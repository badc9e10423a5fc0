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

Ending a session (issue 17). Every session of a user can be found without reading every row:
`sessu:{<user id>}` is a sorted set of that user's session keys scored by their expiry (epoch
seconds), written in the same call as the copy (no added round trip) and pruned of expired keys
there. It has no TTL, so a volatile eviction policy never takes it. It is lost only with the rest
of Redis (a flush, a restart without data), and `sessu:since` says when it last started recording:
a session saved or loaded since is in it (every load that misses the copy refills copy and index).
`user_session_keys` trusts the index alone once `since` is older than SESSION_COOKIE_AGE, and
otherwise also reads the rows saved before `since` (measured: ~10 us a row, 0.5 s for 50,000
sessions; the index: one round trip). A deleted session leaves a tombstone `sessx:<key>` for
TOMBSTONE_SECONDS, and a copy is written only where there is none: a request that read the row
just before the delete cannot write the copy back afterwards and so keep a logged-out session
alive. Every delete also tells the web processes (tweethub.realtime.sessions_ended) to close the
websockets opened with that session.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import redis
from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.backends import cached_db, db
from django.contrib.sessions.base_session import AbstractBaseSession
from django.contrib.sessions.models import Session
from django.utils import timezone

from accounts import authcache
from tweethub import badges, realtime
from tweethub.redis import Role
from tweethub.redis import cache as cache_redis
from tweethub.redis import script as redis_script
from tweethub.rediskeys import KeyFamily

logger = logging.getLogger(__name__)

# What a Redis client raises when the server is away (refused, reset, timed out).
CACHE_DOWN = (redis.RedisError, OSError)
KEY_PREFIX = "sess:"
INDEX_PREFIX = "sessu:{"  # + user id + "}": sorted set, session key -> expiry (epoch seconds)
INDEX_SINCE = "sessu:since"  # epoch seconds since which every saved or loaded session is indexed
TOMBSTONE_PREFIX = "sessx:"
# A load that missed the copy reads Postgres and then writes the copy: a delete in between must
# still be seen by that write. Far longer than any such load (DB_STATEMENT_TIMEOUT_MS is 30 s).
TOMBSTONE_SECONDS = 300
# Postgres rows read per batch when the index cannot be trusted alone.
SCAN_BATCH = 2000

# Never purged: a purged user's session resolves to nobody, and staff stay logged in.
REDIS_KEYS = (
    KeyFamily(
        key=f"{KEY_PREFIX}<session key>",
        role=Role.CACHE,
        holds="a session's copy (its data and user id), for the session's age",
        rebuilt_by="read from Postgres (the session row) on a miss",
    ),
    KeyFamily(
        key=f"{INDEX_PREFIX}<user>}}",
        role=Role.CACHE,
        holds="the user's session keys -> expiry (no TTL, pruned at login)",
        rebuilt_by="lost: `sessions_end` also scans Postgres rows older than `sessu:since` for one session age",
    ),
    KeyFamily(
        key=INDEX_SINCE,
        role=Role.CACHE,
        holds="since when the index is complete",
        rebuilt_by="set again by the next session saved",
    ),
    KeyFamily(
        key=f"{TOMBSTONE_PREFIX}<session key>",
        role=Role.CACHE,
        holds="tombstone of a deleted session (5 min): a late write cannot revive its Redis copy",
        rebuilt_by="n/a",
    ),
)

# KEYS: the copy, its tombstone. ARGV: encoded data, user id or "", seconds, session key, now (s).
# Writes nothing over a tombstone. Indexes a logged-in session under its user, dropping expired keys.
_WRITE_COPY = """
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'd', ARGV[1], 'u', ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[3])
if ARGV[2] ~= '' then
  local index = 'sessu:{' .. ARGV[2] .. '}'
  redis.call('ZREMRANGEBYSCORE', index, '-inf', ARGV[5])
  redis.call('ZADD', index, tonumber(ARGV[5]) + tonumber(ARGV[3]), ARGV[4])
  redis.call('SET', 'sessu:since', ARGV[5], 'NX')
end
return 1
"""

# KEYS: copies. ARGV: tombstone seconds, a user id whose index to clean as well ("" for none), then
# the session keys in the order of KEYS. Each copy goes, leaving a tombstone, and leaves its index.
_DELETE_COPIES = """
for i, copy in ipairs(KEYS) do
  local key = ARGV[i + 2]
  local uid = redis.call('HGET', copy, 'u')
  redis.call('DEL', copy)
  redis.call('SET', 'sessx:' .. key, '1', 'EX', ARGV[1])
  if uid and uid ~= '' then redis.call('ZREM', 'sessu:{' .. uid .. '}', key) end
  if ARGV[2] ~= '' then redis.call('ZREM', 'sessu:{' .. ARGV[2] .. '}', key) end
end
return #KEYS
"""


def _redis() -> redis.Redis:
    return cache_redis()


def _index_key(user_id: int | str) -> str:
    return f"{INDEX_PREFIX}{user_id}}}"


def _delete_copies(*, session_keys: Sequence[str], user_id: int | None = None) -> None:
    """Delete the copies (tombstoned) and their index entries, in one call. Raises redis errors."""
    keys = list(session_keys)
    if keys:
        redis_script(_redis(), _DELETE_COPIES)(
            keys=[KEY_PREFIX + key for key in keys],
            args=[TOMBSTONE_SECONDS, "" if user_id is None else user_id, *keys],
        )


class SessionStore(cached_db.SessionStore):
    # What the last load() learnt about the session's user, for accounts.middleware: the cached row
    # (None: not cached), the generation to fill it with, and whether activity was recorded.
    cached_user: authcache.CachedUser | None = None
    user_generation: str | None = None
    activity_recorded: bool = False
    # The user's unread badge counts as the same read found them (tweethub.badges.for_request).
    badges_read: badges.Prefetch | None = None
    _encoded: str | None = None
    # Inside cycle_key: whether the key being replaced was logged in (None: not rotating).
    _rotating: bool | None = None

    def _copy_key(self, session_key: str) -> str:
        return KEY_PREFIX + session_key

    def load(self) -> dict[str, Any]:
        self.cached_user, self.user_generation, self.activity_recorded = None, None, False
        self.badges_read = None
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
                    self.badges_read = read.badges
                    self.activity_recorded = True
                return dict(data)
        stored: Session | None = self._get_session_from_db()  # type: ignore[attr-defined]  # missing from django-stubs
        if not stored:
            return {}
        data = self.decode(stored.session_data)
        self._write_copy(stored.session_data, data, self.get_expiry_age(expiry=stored.expire_date))
        return dict(data)

    def _write_copy(self, encoded: str, data: dict[str, Any], seconds: int) -> None:
        if self.session_key is not None:
            write_copy(session_key=self.session_key, encoded=encoded, data=data, seconds=seconds)

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
        leaving a copy that load() would trust after the Postgres row is gone. Then the websockets
        opened with it are closed (tweethub.realtime.sessions_ended): with 4401, or, when the key was only rotated
        (cycle_key: a password change keeps this browser logged in under a new key), with a code
        that makes the browser reconnect with the new cookie. Whoever holds only the old key is
        refused on that reconnect."""
        if session_key is None:
            if self.session_key is None:
                return
            session_key = self.session_key
        _delete_copies(session_keys=[session_key])
        db.SessionStore.delete(self, session_key)
        if self._rotating is None:
            realtime.sessions_ended(ended=[session_key])
        elif self._rotating:
            realtime.sessions_ended(moved=[session_key])

    def cycle_key(self) -> None:
        # Only a logged-in session can have websockets (anonymous ones are refused): rotating an
        # anonymous one (at login) tells nobody.
        self._rotating = SESSION_KEY in self._get_session()  # type: ignore[attr-defined]
        try:
            super().cycle_key()
        finally:
            self._rotating = None

    # The async API (Django 5.1+) does the same, in a thread: the store is synchronous at heart.
    async def aload(self) -> dict[str, Any]:
        return await sync_to_async(self.load)()

    async def aexists(self, session_key: str | None) -> bool:
        return await sync_to_async(self.exists)(session_key)

    async def asave(self, must_create: bool = False) -> None:
        await sync_to_async(self.save)(must_create)

    async def adelete(self, session_key: str | None = None) -> None:
        await sync_to_async(self.delete)(session_key)

    async def acycle_key(self) -> None:
        await sync_to_async(self.cycle_key)()


def write_copy(*, session_key: str, encoded: str, data: dict[str, Any], seconds: int) -> None:
    """Write a session's Redis copy (and index it under its user), unless the session was deleted
    meanwhile. Best effort: Postgres has the session, and a load that misses the copy writes it."""
    if seconds <= 0:
        return
    try:
        redis_script(_redis(), _WRITE_COPY)(
            keys=[KEY_PREFIX + session_key, TOMBSTONE_PREFIX + session_key],
            args=[encoded, str(data.get(SESSION_KEY) or ""), seconds, session_key, int(time.time())],
        )
    except CACHE_DOWN:
        logger.warning("session cache unavailable; session kept in Postgres only", exc_info=True)


# --- What other code needs: a user's sessions, deleting them, and re-reading them quietly ----------


def user_session_keys(*, user_id: int) -> set[str]:
    """The keys of every unexpired session logged in as `user_id`: from the index, plus the rows
    saved before the index last started recording while that may hold live sessions (after a
    deploy, a flush or a restart of Redis, for SESSION_COOKIE_AGE). Raises redis errors."""
    now = int(time.time())
    with _redis().pipeline(transaction=False) as pipe:
        pipe.zrangebyscore(_index_key(user_id), now, "+inf")
        pipe.get(INDEX_SINCE)
        members, since = pipe.execute()
    keys = {member.decode() for member in members}
    started = int(since) if since else None
    if started is None or started > now - settings.SESSION_COOKIE_AGE:
        keys |= _scan_rows(user_id=user_id, saved_before=started)
    return keys


def _scan_rows(*, user_id: int, saved_before: int | None) -> set[str]:
    """Sessions of `user_id` among the unexpired rows saved before `saved_before` (epoch s; None:
    all), decoding each: a session row does not say whose it is. ~10 us a row."""
    rows = Session.objects.filter(expire_date__gt=timezone.now())
    if saved_before is not None:
        # A row saved at time t expires at t + SESSION_COOKIE_AGE (no code sets another expiry).
        cutoff = datetime.fromtimestamp(saved_before, tz=UTC) + timedelta(seconds=settings.SESSION_COOKIE_AGE + 1)
        rows = rows.filter(expire_date__lt=cutoff)
    decoder, wanted = SessionStore(), str(user_id)
    return {
        key
        for key, encoded in rows.values_list("session_key", "session_data").iterator(chunk_size=SCAN_BATCH)
        if str(decoder.decode(encoded).get(SESSION_KEY)) == wanted
    }


def sessions_delete(*, session_keys: Sequence[str], user_id: int | None = None) -> int:
    """Delete sessions: their copies first (strict, as for a logout: raises redis errors and then
    deletes nothing), then their rows. Returns the rows deleted. Tells no socket: the caller does."""
    keys = list(session_keys)
    if not keys:
        return 0
    _delete_copies(session_keys=keys, user_id=user_id)
    deleted, _ = Session.objects.filter(session_key__in=keys).delete()
    return deleted


@dataclass(frozen=True)
class QuietRead:
    """A session as a websocket re-checks it: its data ({} when it is gone or expired) and its
    user's cached row when Redis had one (None: the caller asks Postgres)."""

    data: dict[str, Any]
    row: authcache.CachedUser | None


def sessions_read_quietly(session_keys: Sequence[str]) -> list[QuietRead]:
    """Re-read sessions without recording activity: one Redis call for all, then one query for
    those Redis lacks (their copies are written back, which also puts them back in the index).
    Redis down: everything from Postgres."""
    keys = list(session_keys)
    try:
        reads = authcache.read_sessions_quietly(session_keys=[KEY_PREFIX + key for key in keys])
    except CACHE_DOWN:
        logger.warning("session cache unavailable; sessions re-read from Postgres", exc_info=True)
        reads = [None] * len(keys)
    decoder = SessionStore()
    answers: dict[str, QuietRead] = {}
    for key, read in zip(keys, reads, strict=True):
        if read is not None:
            answers[key] = QuietRead(data=decoder.decode(read.session_data), row=read.row)
    missing = [key for key in keys if key not in answers]
    if missing:
        now = timezone.now()
        for row in Session.objects.filter(session_key__in=missing, expire_date__gt=now):
            data = decoder.decode(row.session_data)
            seconds = int((row.expire_date - now).total_seconds())
            write_copy(session_key=row.session_key, encoded=row.session_data, data=data, seconds=seconds)
            answers[row.session_key] = QuietRead(data=data, row=None)
    return [answers.get(key, QuietRead(data={}, row=None)) for key in keys]
