"""Tokens in Redis, so that a token's request needs no SQL: the only code that touches `pat:` keys.

    pat:<sha256 of the token>  hash on the cache Redis, for API_TOKEN_CACHE_SECONDS:
                                 d   "<token id>|<scopes, comma-separated>", or "revoked"
                                 u   the user id ("" for a revoked token)

The entry has the shape of a session copy (accounts.sessions: `d` and `u`) on purpose: one
`accounts.authcache.read_session` call then reads it, its user's cached row (`au:{id}`) and records
the user's activity, exactly as a page's session read does: one round trip, no query.

A copy of Postgres, never the truth:
  - filled after a request found the token in Postgres (api.auth), only where no entry exists (a
    fill can never overwrite a revocation that happened meanwhile);
  - revoked by overwriting the entry with a tombstone *before* the row is deleted (api.services):
    a revocation that cannot reach Redis fails rather than leave a working copy behind;
  - the user is the auth-user cache's row, which every change of a user's state drops (a
    suspension, a deactivation, a password change): a token then goes back to Postgres, which
    refuses an inactive user;
  - expiring every API_TOKEN_CACHE_SECONDS, which is also how often last_used_at is written.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from django.conf import settings

from accounts import authcache
from tweethub.redis import Role
from tweethub.redis import cache as cache_redis
from tweethub.redis import script as redis_script
from tweethub.rediskeys import KeyFamily

PREFIX = "pat:"
REVOKED = "revoked"
REDIS_KEYS = (
    KeyFamily(
        key=f"{PREFIX}<token digest>",
        role=Role.CACHE,
        holds="a token's id, scopes and user id, or a revocation's tombstone (`API_TOKEN_CACHE_SECONDS`)",
        rebuilt_by="filled by the token's next request (one query)",
        purge=True,
    ),
)

# Write the entry only where none exists: a revocation's tombstone stays.
_FILL = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'd', ARGV[1], 'u', ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[3])
return 1
"""


def key(digest: str) -> str:
    return f"{PREFIX}{digest}"


@dataclass(frozen=True)
class TokenRead:
    """What one read found: revoked, or the token's id and scopes with its user's cached row (None
    when missing: `generation` is then what a fill of the row must carry)."""

    revoked: bool
    token_id: int = 0
    scopes: frozenset[str] = frozenset()
    row: authcache.CachedUser | None = None
    generation: str | None = None


def read(digest: str) -> TokenRead | None:
    """The cached entry, its user's row and the user's activity recorded, in one Redis call; None
    when nothing is cached. Raises redis errors (the caller then reads Postgres)."""
    found = authcache.read_session(session_key=key(digest), now_ms=int(time.time() * 1000))
    if found is None:
        return None
    if found.session_data == REVOKED or found.user_id is None:
        return TokenRead(revoked=True)
    token_id, _, scopes = found.session_data.partition("|")
    return TokenRead(
        revoked=False,
        token_id=int(token_id),
        scopes=frozenset(scope for scope in scopes.split(",") if scope),
        row=found.row,
        generation=found.generation,
    )


def fill(*, digest: str, token_id: int, user_id: int, scopes: list[str]) -> None:
    """Cache a token read from Postgres, unless an entry (a tombstone) is there. Raises redis errors."""
    redis_script(cache_redis(), _FILL)(
        keys=[key(digest)], args=[f"{token_id}|{','.join(scopes)}", user_id, settings.API_TOKEN_CACHE_SECONDS]
    )


def revoke(*, digest: str) -> None:
    """Replace the entry with a tombstone that outlives any fill in flight. Raises redis errors."""
    with cache_redis().pipeline(transaction=True) as pipe:
        pipe.hset(key(digest), mapping={"d": REVOKED, "u": ""})
        pipe.expire(key(digest), settings.API_TOKEN_CACHE_SECONDS)
        pipe.execute()
