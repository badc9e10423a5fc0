"""Test data builders. They write through the ORM directly: the services under test are exercised
by the tests themselves, and setup should not depend on the code being tested."""

from __future__ import annotations

import itertools

from django.utils import timezone

from accounts.models import User

PASSWORD = "correct-horse-battery-staple"
_counter = itertools.count(1)


def make_user(
    username: str | None = None,
    *,
    email: str | None = None,
    name: str | None = None,
    verified: bool = True,
    password: str = PASSWORD,
    **fields: object,
) -> User:
    n = next(_counter)
    username = username or f"user{n}"
    user = User(
        username=username,
        email=email or f"{username.lower()}@example.com",
        name=name or username.capitalize(),
        verified_at=timezone.now() if verified else None,
        **fields,
    )
    user.set_password(password)
    user.save()
    return user
