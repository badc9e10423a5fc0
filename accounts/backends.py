from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.http import HttpRequest

from accounts.models import User


class UsernameOrEmailBackend(ModelBackend):
    """Authenticate with a username or an email address, matched case-insensitively."""

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> User | None:
        if not username or password is None:
            return None
        identifier = username.strip()
        lookup = {"email__iexact": identifier} if "@" in identifier else {"username__iexact": identifier}
        user = User.objects.filter(**lookup).first()
        if user is None:
            # Spend the same time hashing as for a real user: response time must not reveal
            # which usernames exist.
            User().set_password(password)
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None
