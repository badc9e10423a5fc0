"""Errors and guards every write of accounts shares."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError

from accounts.models import User


class NotVerified(PermissionDenied):
    """The action needs a verified email address."""

    def __init__(self) -> None:
        super().__init__("Please confirm your email address first.")


class AccountSuspended(PermissionDenied):
    """Right credentials for a suspended account (moderation): say so, instead of "no match"."""

    def __init__(self) -> None:
        super().__init__("This account is suspended. It cannot log in while the suspension lasts.")


class InvalidVerificationLink(Exception):
    def __init__(self, message: str, *, expired: bool = False) -> None:
        super().__init__(message)
        self.expired = expired


def require_verified(user: User) -> None:
    """Guard for tweeting, following and messaging: unverified users can read, not write; a
    suspended (inactive) account can do neither (it cannot log in either: this guards every other
    caller, a task or a session that outlived the suspension by a moment)."""
    if not user.is_active:
        raise PermissionDenied("This account is suspended.")
    if not user.is_verified:
        raise NotVerified()


def refuse_nul(**texts: str) -> None:
    """Postgres text cannot hold NUL, so refuse it as bad input (the forms do too; this covers every
    other caller) instead of failing in the database."""
    bad = {
        field: "That text contains a character we cannot store (NUL)."
        for field, text in texts.items()
        if "\x00" in text
    }
    if bad:
        raise ValidationError(bad)
