"""Who may read captured mail: the one place that decides it.

Captured mail holds verification and password-reset links, so showing it to the wrong person hands
them the account. Staff see everything. In demo mode a visitor additionally sees the mail of the
accounts this browser session created or logged into: the accounts app calls `grant()` at sign-up
and login and keeps the list across logout. Nobody else sees anything, and the list of granted ids
lives in the server-side session, so a visitor cannot add ids to it.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.contrib.sessions.backends.base import SessionBase

SESSION_KEY = "mailcatcher.user_ids"
# Bounds the session's size however many accounts one browser creates (demo users script sign-ups).
MAX_GRANTS = 50


def grant(session: SessionBase, user_id: int) -> None:
    """Remember that this session created or logged into `user_id`. Idempotent: a repeated grant
    only moves the id to the most recent end; the oldest ids fall off past MAX_GRANTS."""
    ids = [existing for existing in granted_user_ids(session) if existing != user_id]
    ids.append(user_id)
    session[SESSION_KEY] = ids[-MAX_GRANTS:]


def granted_user_ids(session: SessionBase) -> list[int]:
    """The user ids granted to this session, oldest first; [] for a fresh session."""
    raw = session.get(SESSION_KEY, [])
    if not isinstance(raw, list):
        return []
    # bool is an int subclass; a stray True must not grant user 1.
    return [value for value in raw if isinstance(value, int) and not isinstance(value, bool)]


def sees_all_mail(user: AbstractBaseUser | AnonymousUser) -> bool:
    """Active staff read every captured mail (they operate the site)."""
    return bool(user.is_active and getattr(user, "is_staff", False))


def can_open_inbox(user: AbstractBaseUser | AnonymousUser) -> bool:
    """Whether /admin/mails/ exists for this viewer at all. Outside demo mode it is staff only,
    and everybody else gets a 404 rather than an empty page: nothing to probe."""
    return sees_all_mail(user) or bool(settings.DEMO_MODE)
