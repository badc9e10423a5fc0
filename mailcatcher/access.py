"""Who may read captured mail: the one place that decides it.

Captured mail holds verification and password-reset links, so showing it to the wrong person hands
them the account. Staff see everything. In demo mode a visitor also sees the mail of the account
they are logged into, and only while they are: logging in is what proves the account is theirs,
and that proof ends with the session. Before an account exists, the link that finishes a sign-up
goes to an address without an account; the session that asked for it holds a grant (a random key
in its server-side session, which visitors cannot add to) that the mail carries, and it reads that
mail alone, for as long as the session lasts. Nobody else sees anything.

Access used to be a list of account ids kept in the browser's session across logout, so the next
person on a shared browser could ask for a password reset of the previous visitor's account and
read the link (issue 17, item 5). Now nothing outlives the session: after logout the browser reads
no mail at all, and a reset requested while logged out shows only to someone who logs into that
account again, with its password, and so needs no reset.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.contrib.sessions.backends.base import SessionBase

# The header a sender sets on a mail to name the grant that may read it; mail_capture stores it in
# CapturedMail.session_grant and drops it from the mail.
GRANT_HEADER = "X-Mailcatcher-Grant"
SESSION_KEY = "mailcatcher.grants"
# Bounds the session's size however many sign-ups one browser starts (demo users script them).
MAX_GRANTS = 20


def sees_all_mail(user: AbstractBaseUser | AnonymousUser) -> bool:
    """Active staff read every captured mail (they operate the site)."""
    return bool(user.is_active and getattr(user, "is_staff", False))


def can_open_inbox(user: AbstractBaseUser | AnonymousUser) -> bool:
    """Whether /admin/mails/ exists for this viewer at all. Outside demo mode it is staff only,
    and everybody else gets a 404 rather than an empty page: nothing to probe."""
    return sees_all_mail(user) or bool(settings.DEMO_MODE)


def own_account_ids(user: AbstractBaseUser | AnonymousUser) -> list[int]:
    """The accounts whose mail this viewer reads in demo mode: the one they are logged into
    (request.user, whose session the auth middleware has checked), or none."""
    if not settings.DEMO_MODE or not user.is_authenticated or not user.is_active or user.pk is None:
        return []
    return [int(user.pk)]


def new_grant(session: SessionBase) -> str:
    """A fresh grant, remembered in `session` (the newest MAX_GRANTS are kept): give it to the
    mail this session may read, in the GRANT_HEADER header. It ends with the session: logging out
    flushes it. Only for mail to an address that has no account yet: mail to an account is read
    by logging into it."""
    grant = secrets.token_urlsafe(24)
    session[SESSION_KEY] = [*session_grants(session), grant][-MAX_GRANTS:]
    return grant


def session_grants(session: SessionBase) -> list[str]:
    """The grants this session holds, oldest first; [] for a fresh session or malformed data."""
    raw = session.get(SESSION_KEY, [])
    if not isinstance(raw, list):
        return []
    return [value for value in raw if isinstance(value, str) and value]
