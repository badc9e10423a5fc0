"""Username rules, shared by the model, the forms and the services."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.deconstruct import deconstructible

from tweethub.usernames import USERNAME_MAX_LENGTH, USERNAME_PATTERN

__all__ = ["RESERVED_USERNAMES", "USERNAME_MAX_LENGTH", "USERNAME_PATTERN", "UsernameValidator"]


# Names that would collide with our own URLs (/@admin is fine technically, but /admin, /api, ... are
# ours), or that users could mistake for the site speaking. Compared case-insensitively.
RESERVED_USERNAMES = frozenset(
    {
        "about", "accounts", "admin", "administrator", "api", "auth", "discover", "djangoadmin",
        "explore", "healthz", "help", "home", "login", "logout", "mail", "mails", "me", "media",
        "messages", "moderator", "notifications", "null", "privacy", "root", "search", "security",
        "settings", "signup", "static", "staff", "support", "system", "tags", "terms", "trending",
        "tweet", "tweethub", "tweets", "undefined", "verify", "webmaster", "ws",
    }
)  # fmt: skip


@deconstructible
class UsernameValidator:
    message = "Use 1 to 15 letters (A-Z), digits or underscores."
    code = "invalid_username"

    def __call__(self, value: str) -> None:
        if not USERNAME_PATTERN.fullmatch(value or ""):
            raise ValidationError(self.message, code=self.code)
        if value.lower() in RESERVED_USERNAMES:
            raise ValidationError("That username is reserved. Please pick another.", code="reserved")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, UsernameValidator)

    def __hash__(self) -> int:
        return hash(self.code)
