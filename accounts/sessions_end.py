"""Ending a user's sessions, and how long-lived connections learn that theirs ended.

Every long-lived connection is bound to its session: when the session ends (logout, password
change, deactivation or suspension, account deletion, expiry), the user's websockets close too
(issue 17: a socket opened with a stolen cookie kept receiving DMs, and could read and send them,
after the victim changed their password and logged out).

- `sessions_end` is what other code calls when every session of a user must end.
- A logout (or any other deletion of one session) goes through the session store, which tells the
  sockets itself (accounts.sessions.SessionStore.delete).
- `sessions_alive` is the websocket's check: before acting on any client message, and for all open
  sockets at each sweep (tweethub.livesockets), so a session that ended without an announcement (it
  expired, it was deleted by hand, the announcement was lost) closes its sockets too.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.utils.crypto import constant_time_compare

from accounts import sessions as session_store
from accounts.models import User
from tweethub import realtime

logger = logging.getLogger(__name__)


def sessions_end(*, user_id: int, keep_session_key: str | None = None) -> int:
    """End every session of `user_id` except `keep_session_key` (the browser that asked, after a
    password change): their Redis copies, then their Postgres rows, then every web process closes
    the user's websockets except those of the kept session, with 4401 (the browser does not
    reconnect). Returns the number of sessions deleted.

    Call it after the change that requires it has committed (a suspension, a password change): a
    login between this call and that commit would make a session this call never saw.
    Idempotent. Finding the sessions costs one Redis round trip (the per-user index,
    accounts.sessions), plus reading older rows while the index is younger than
    SESSION_COOKIE_AGE. Raises redis errors before deleting anything (as a logout does: no copy may
    outlive its row); the sockets are then still closed by their next message or the next sweep,
    which find the user inactive or the auth hash changed, but the rows stay: call it again."""
    keys = session_store.user_session_keys(user_id=user_id)
    keys.discard(keep_session_key or "")
    deleted = session_store.sessions_delete(session_keys=sorted(keys), user_id=user_id)
    # Every socket of the user, not only those of the keys found: one opened with a session the
    # index missed (an older row it no longer knew) closes too.
    realtime.sessions_ended(user_id=user_id, keep=keep_session_key)
    return deleted


def sessions_alive(*, sockets: Sequence[tuple[str, int]]) -> list[bool]:
    """For each (session key, user id): does the session still exist, unexpired, logged in as that
    user, through a configured backend, with the auth hash of the user's current password, the user
    active? What Django checks on every request, without recording activity.

    Warm: one Redis round trip for all of them (session copies and cached user rows). A session
    Redis lacks: one query for all of those (their copies are written back); a user row it lacks:
    one query for all of those."""
    reads = session_store.sessions_read_quietly([key for key, _ in sockets])
    uncached = {user_id for (_, user_id), read in zip(sockets, reads, strict=True) if read.data and read.row is None}
    users = {user.pk: user for user in User.objects.filter(pk__in=uncached)} if uncached else {}
    alive = []
    for (_, user_id), read in zip(sockets, reads, strict=True):
        data = read.data
        if (
            str(data.get(SESSION_KEY)) != str(user_id)
            or data.get(BACKEND_SESSION_KEY) not in settings.AUTHENTICATION_BACKENDS
        ):
            alive.append(False)
            continue
        if read.row is not None:
            active, auth_hash = read.row.is_active, read.row.auth_hash
        elif (user := users.get(user_id)) is not None:
            active, auth_hash = user.is_active, user.get_session_auth_hash()
        else:  # the account is gone
            alive.append(False)
            continue
        session_hash = str(data.get(HASH_SESSION_KEY) or "")
        alive.append(bool(active and session_hash and constant_time_compare(session_hash, auth_hash)))
    return alive
