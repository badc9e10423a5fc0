"""The auth-user cache and the activity queue: what an authenticated request needs, from Redis.

The only code that talks to Redis about them (like timelines/store.py for feeds). All keys live in
the cache Redis (settings.CACHE_REDIS_URL), with the session copies (accounts.sessions), because
one Lua call reads a session, its user's row and unread badge counts (tweethub.badges) and records
activity together: one round trip.

Keys:
- `au:{<user id>}`: the user's row as request.user needs it on pages (CACHED_FIELDS: every column
  but the password hash, last_login and last_active) plus the session auth hash
  (`user.get_session_auth_hash()`, an HMAC of the password hash under SECRET_KEY: never the hash
  itself) and a fingerprint of SECRET_KEY (a rotated key makes every row a miss). JSON, expires
  after AUTH_USER_CACHE_SECONDS.
  Filled by accounts.middleware after a miss, from the row Django's own get_user loaded, and only
  if no invalidation happened since the miss was seen (`store`, compare-and-set on the generation).
  Invalidated by `forget` / `forget_after_commit`, which every service writing a cached column
  calls after commit: password change and reset (accounts.views), profile_update, location_share,
  location_stop, user_verify_email, user_delete, the admin panel's purge. A write made elsewhere
  (a shell, SQL) is seen after at most AUTH_USER_CACHE_SECONDS: call `forget` after it.
- `aug:{<user id>}`: the user's invalidation generation, incremented by `forget`. A fill that read
  Postgres before a change committed carries the older generation and is refused, so a stale row
  (an old auth hash) can never be written back after the invalidation.
- `la:{<user id>}`: "activity recorded", SET NX for LAST_ACTIVE_RESOLUTION_SECONDS: the first
  request of each period adds the user to
- `la:pending`: sorted set user id -> last seen (epoch ms), taken whole by `activity_take` (beat,
  accounts.services.last_active_flush) into `la:flushing` and removed by `activity_ack` once
  Postgres has it.

Losing any of these loses nothing: rows are refilled from Postgres, and activity lost with a flush
of Redis is recorded again by the user's next request. The Lua scripts use keys they compute
(the user id is read from the session copy), so they need a single Redis, not a cluster.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import redis
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, models, transaction

from accounts.models import User
from tweethub import badges
from tweethub.redis import Role
from tweethub.redis import cache as cache_redis
from tweethub.redis import script as redis_script
from tweethub.rediskeys import KeyFamily

logger = logging.getLogger(__name__)

ROW_PREFIX = "au:{"
GENERATION_PREFIX = "aug:{"
ACTIVITY_CLAIM_PREFIX = "la:{"
ACTIVITY_PENDING = "la:pending"
ACTIVITY_FLUSHING = "la:flushing"
# A generation must outlive any fill in flight (read Postgres, then write Redis: milliseconds).
GENERATION_SECONDS = 86_400

# The purge takes only the activity claims: it drops the rows of the users it deletes itself
# (`forget`), which bumps their generations, and Postgres already holds what the queue recorded.
REDIS_KEYS = (
    KeyFamily(
        key=f"{ROW_PREFIX}<user>}}",
        role=Role.CACHE,
        holds="the cached auth row and session auth hash (`AUTH_USER_CACHE_SECONDS`)",
        rebuilt_by="filled by the next request after a miss",
    ),
    KeyFamily(
        key=f"{GENERATION_PREFIX}<user>}}",
        role=Role.CACHE,
        holds="the user's invalidation generation (a day)",
        rebuilt_by="n/a (a fill that finds none is refused once)",
    ),
    KeyFamily(
        key=f"{ACTIVITY_CLAIM_PREFIX}<user>}}",
        role=Role.CACHE,
        holds="last_active write claim (LAST_ACTIVE_RESOLUTION_SECONDS)",
        rebuilt_by="n/a (Postgres holds last_active)",
        purge=True,
    ),
    KeyFamily(
        key=ACTIVITY_PENDING,
        role=Role.CACHE,
        holds="activity waiting for Postgres: user id -> last seen (ms)",
        rebuilt_by="lost: the user's next request records it again",
    ),
    KeyFamily(
        key=ACTIVITY_FLUSHING,
        role=Role.CACHE,
        holds="the activity a flush took, until Postgres has it",
        rebuilt_by="taken again by the next flush",
    ),
)

# Loaded on demand from Postgres instead (Django's deferred fields): the password hash never leaves
# Postgres, last_login and last_active are stale by nature. A save() without update_fields on a
# cached user writes only the cached columns, never these.
_UNCACHED = frozenset({"password", "last_login", "last_active"})
CACHED_FIELDS: tuple[str, ...] = tuple(
    field.attname for field in User._meta.concrete_fields if field.attname not in _UNCACHED
)
_DATETIMES = frozenset(
    field.attname
    for field in User._meta.concrete_fields
    if isinstance(field, models.DateTimeField) and field.attname in CACHED_FIELDS
)


def cache() -> redis.Redis:
    return cache_redis()


def _row_key(user_id: int | str) -> str:
    return f"{ROW_PREFIX}{user_id}}}"


def _generation_key(user_id: int | str) -> str:
    return f"{GENERATION_PREFIX}{user_id}}}"


def _secret_fingerprint() -> str:
    return hashlib.sha256(f"tweethub.authcache:{settings.SECRET_KEY}".encode()).hexdigest()[:16]


@dataclass(frozen=True)
class CachedUser:
    """A cached row as read: the user's columns and the session auth hash to check a session by."""

    user_id: int
    fields: dict[str, Any]
    auth_hash: str

    @property
    def is_active(self) -> bool:
        return bool(self.fields.get("is_active"))

    def build(self) -> User:
        """An unsaved-state-free User (as if loaded by the ORM) with no query; the uncached columns
        are deferred, so reading one (the password, to change it) loads it from Postgres."""
        values = [self.fields[name] for name in CACHED_FIELDS]
        return User.from_db(DEFAULT_DB_ALIAS, CACHED_FIELDS, values)


def encode_row(user: User) -> str:
    fields = {}
    for name in CACHED_FIELDS:
        value = getattr(user, name)
        if isinstance(value, datetime):
            value = value.isoformat()
        elif isinstance(value, models.fields.files.FieldFile):
            value = value.name or ""
        fields[name] = value
    return json.dumps({"f": fields, "h": user.get_session_auth_hash(), "k": _secret_fingerprint()})


def decode_row(raw: bytes | str) -> CachedUser | None:
    """None for a row this code cannot trust (another SECRET_KEY, another set of columns)."""
    try:
        row = json.loads(raw)
        fields = row["f"]
        if row.get("k") != _secret_fingerprint() or not isinstance(fields, dict) or set(fields) != set(CACHED_FIELDS):
            return None
        for name in _DATETIMES:
            if fields[name] is not None:
                fields[name] = datetime.fromisoformat(fields[name])
        return CachedUser(user_id=int(fields["id"]), fields=fields, auth_hash=str(row["h"]))
    except (ValueError, KeyError, TypeError):
        logger.warning("unreadable auth-user cache row", exc_info=True)
        return None


# --- The read of every authenticated request -------------------------------------------------------

# KEYS[1]: the session copy (a hash: d = Django's encoded session data, u = its user id or "").
# ARGV: now (epoch ms), LAST_ACTIVE_RESOLUTION_SECONDS, and the key prefixes of the unread badges
# (tweethub.badges owns them): the page's nav shows them, so they come in this same round trip.
# Returns nil (no copy), or {data, user id or "", row or "", generation or "" (when the row is
# missing), badges or "", the badge generation}.
_READ_SESSION = """
local s = redis.call('HMGET', KEYS[1], 'd', 'u')
if not s[1] then return false end
local uid = s[2]
if not uid or uid == '' then return {s[1], '', '', '', '', ''} end
local row = redis.call('GET', 'au:{' .. uid .. '}')
local generation = ''
if not row then
  row = ''
  generation = redis.call('GET', 'aug:{' .. uid .. '}') or '0'
end
if redis.call('SET', 'la:{' .. uid .. '}', '1', 'NX', 'EX', ARGV[2]) then
  redis.call('ZADD', 'la:pending', ARGV[1], uid)
end
local badges = redis.call('GET', ARGV[3] .. uid .. '}') or ''
return {s[1], uid, row, generation, badges, redis.call('GET', ARGV[4] .. uid .. '}') or '0'}
"""

# KEYS: the row, the generation. ARGV: row, seconds, the generation seen before Postgres was read.
_STORE = """
if (redis.call('GET', KEYS[2]) or '0') ~= ARGV[3] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
return 1
"""


@dataclass(frozen=True)
class SessionRead:
    """One round trip's answer: the encoded session data and, for a logged-in session, its user id
    and cached row, or the generation to fill the row with. Activity is recorded when user_id is set."""

    session_data: str
    user_id: int | None
    row: CachedUser | None
    generation: str | None
    badges: badges.Prefetch | None = None


def read_session(*, session_key: str, now_ms: int) -> SessionRead | None:
    """Read a session copy written by `session_fields`, its user's cached row, and record the user's
    activity, in one Redis call. None when Redis has no copy. Raises redis errors."""
    args: list[int | str] = [now_ms, _resolution(), badges.PREFIX, badges.GENERATION_PREFIX]
    reply = redis_script(cache(), _READ_SESSION)(keys=[session_key], args=args)
    if not reply:
        return None
    parts = (part.decode() if isinstance(part, bytes) else str(part) for part in reply)
    data, user_id, raw_row, generation, raw_badges, badge_generation = parts
    row = decode_row(raw_row) if raw_row else None
    return SessionRead(
        session_data=data,
        user_id=int(user_id) if user_id else None,
        row=row if row is not None and str(row.user_id) == user_id else None,
        generation=generation or None,
        badges=badges.Prefetch(user_id=int(user_id), raw=raw_badges, generation=badge_generation) if user_id else None,
    )


# KEYS: session copies. For each: its encoded data, its user id and that user's cached row, "" for
# any that is missing. Unlike _READ_SESSION it records no activity: an open tab is not a visit.
_READ_SESSIONS_QUIETLY = """
local out = {}
for _, key in ipairs(KEYS) do
  local s = redis.call('HMGET', key, 'd', 'u')
  local data, uid, row = s[1] or '', s[2] or '', ''
  if data ~= '' and uid ~= '' then row = redis.call('GET', 'au:{' .. uid .. '}') or '' end
  out[#out + 1] = data
  out[#out + 1] = uid
  out[#out + 1] = row
end
return out
"""


def read_sessions_quietly(*, session_keys: list[str]) -> list[SessionRead | None]:
    """For each session copy (keys as for `read_session`): what `read_session` returns, in one
    call for all of them, without recording activity (the websocket's re-check of its session).
    `generation` is always None: a miss is not filled from here. Raises redis errors."""
    if not session_keys:
        return []
    reply = redis_script(cache(), _READ_SESSIONS_QUIETLY)(keys=session_keys)
    parts = [part.decode() if isinstance(part, bytes) else str(part) for part in reply]
    reads: list[SessionRead | None] = []
    for i in range(0, len(parts), 3):
        data, user_id, raw_row = parts[i : i + 3]
        if not data:
            reads.append(None)
            continue
        row = decode_row(raw_row) if raw_row else None
        reads.append(
            SessionRead(
                session_data=data,
                user_id=int(user_id) if user_id else None,
                row=row if row is not None and str(row.user_id) == user_id else None,
                generation=None,
            )
        )
    return reads


def _resolution() -> int:
    return int(settings.LAST_ACTIVE_RESOLUTION_SECONDS)


def store(*, user: User, generation: str) -> bool:
    """Cache `user`'s row, unless it was invalidated since `generation` was read (then the row
    loaded from Postgres may predate the change). Best effort: False when refused or unreachable."""
    try:
        return bool(
            redis_script(cache(), _STORE)(
                keys=[_row_key(user.pk), _generation_key(user.pk)],
                args=[encode_row(user), settings.AUTH_USER_CACHE_SECONDS, generation],
            )
        )
    except (redis.RedisError, OSError):
        logger.warning("auth-user cache unavailable; row not cached", exc_info=True)
        return False


def forget(*, user_ids: Iterable[int]) -> None:
    """Drop cached rows and bump their generations (so no fill in flight writes an older row back).
    Raises redis errors: callers decide whether a failure may pass (see forget_after_commit)."""
    ids = list(user_ids)
    if not ids:
        return
    with cache().pipeline(transaction=True) as pipe:
        for user_id in ids:
            pipe.incr(_generation_key(user_id))
            pipe.expire(_generation_key(user_id), GENERATION_SECONDS)
            pipe.delete(_row_key(user_id))
        pipe.execute()


def forget_after_commit(*, user_ids: Iterable[int]) -> None:
    """`forget` now and again once the current transaction commits. The second is the one that
    counts (a fill may read the old row until the commit); the first lets this connection, which
    sees its own uncommitted change, refill the row at once. If Redis refuses, the change is still
    made: it is logged, and the row expires within AUTH_USER_CACHE_SECONDS."""
    ids = list(user_ids)

    def run() -> None:
        try:
            forget(user_ids=ids)
        except (redis.RedisError, OSError):
            logger.error("could not invalidate cached users %s; stale for up to AUTH_USER_CACHE_SECONDS", ids)

    run()
    transaction.on_commit(run)


# --- Activity ----------------------------------------------------------------------------------------

_RECORD = """
if redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[2]) then
  redis.call('ZADD', KEYS[2], ARGV[1], ARGV[3])
  return 1
end
return 0
"""

# Moves everything pending into the flushing set (merged with what a failed flush left there, the
# newest time winning), atomically: activity recorded meanwhile lands in a fresh pending set.
_TAKE = """
if redis.call('EXISTS', KEYS[1]) == 1 then
  if redis.call('EXISTS', KEYS[2]) == 1 then
    redis.call('ZUNIONSTORE', KEYS[2], 2, KEYS[2], KEYS[1], 'AGGREGATE', 'MAX')
    redis.call('DEL', KEYS[1])
  else
    redis.call('RENAME', KEYS[1], KEYS[2])
  end
end
return redis.call('ZRANGE', KEYS[2], 0, -1, 'WITHSCORES')
"""

# Removes flushed entries, unless a concurrent take merged a newer time in meanwhile.
_ACK = """
local removed = 0
for i = 1, #ARGV, 2 do
  local score = redis.call('ZSCORE', KEYS[1], ARGV[i])
  if score and tonumber(score) <= tonumber(ARGV[i + 1]) then
    redis.call('ZREM', KEYS[1], ARGV[i])
    removed = removed + 1
  end
end
return removed
"""


def activity_record(*, user_id: int, now_ms: int) -> bool:
    """Queue the user's activity for the next flush, at most once per resolution (the request path
    does this inside read_session; this is for sessions that came from Postgres). True when queued.
    Raises redis errors."""
    return bool(
        redis_script(cache(), _RECORD)(
            keys=[f"{ACTIVITY_CLAIM_PREFIX}{user_id}}}", ACTIVITY_PENDING], args=[now_ms, _resolution(), user_id]
        )
    )


def activity_take() -> list[tuple[int, int]]:
    """Every (user id, last seen epoch ms) waiting to be written. Until `activity_ack`, a crashed
    flush's entries stay in the flushing set and are taken again by the next one."""
    reply = redis_script(cache(), _TAKE)(keys=[ACTIVITY_PENDING, ACTIVITY_FLUSHING])
    return [(int(reply[i]), int(float(reply[i + 1]))) for i in range(0, len(reply), 2)]


def activity_ack(*, entries: list[tuple[int, int]], batch: int = 5000) -> None:
    """Forget entries now in Postgres (those not updated meanwhile)."""
    script = redis_script(cache(), _ACK)
    for start in range(0, len(entries), batch):
        args = [value for user_id, ms in entries[start : start + batch] for value in (user_id, ms)]
        script(keys=[ACTIVITY_FLUSHING], args=args)
