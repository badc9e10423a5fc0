"""Who may read captured mail: the one place that decides it.

Captured mail holds verification and password-reset links, so showing it to the wrong person hands
them the account. Staff see everything. In demo mode a visitor also sees the mail of the account
they are logged into, and only while they are: logging in (or signing up) is what proves the
account is theirs, and that proof ends with the session. Nobody else sees anything.

Access used to be a list of account ids kept in the browser's session across logout, so the next
person on a shared browser could ask for a password reset of the previous visitor's account and
read the link (issue 17, item 5). Now nothing outlives the session: after logout the browser reads
no mail at all, and a reset requested while logged out shows only to someone who logs into that
account again, with its password, and so needs no reset.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser


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
