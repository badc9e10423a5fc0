"""Reads of the accounts app."""

from __future__ import annotations

from accounts.models import User


def username_taken(username: str) -> bool:
    return User.objects.filter(username__iexact=username.strip()).exists()


def email_taken(email: str) -> bool:
    return User.objects.filter(email__iexact=email.strip()).exists()


def profile_by_username(username: str) -> User:
    """The active user with this username in any capitalisation; User.DoesNotExist otherwise."""
    return User.objects.get(username__iexact=username, is_active=True)
