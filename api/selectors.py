"""Reads of personal access tokens."""

from __future__ import annotations

from api.models import AccessToken


def tokens_of(*, user_id: int) -> list[AccessToken]:
    """The user's tokens, newest first (the settings page lists them; secrets are not there)."""
    return list(AccessToken.objects.filter(user_id=user_id).order_by("-id"))


def token_by_digest(digest: str) -> AccessToken | None:
    """The token with this digest (api.tokens.digest of its secret), with its user joined in, or
    None: one query by the digest's unique index. The caller checks the user is active."""
    return AccessToken.objects.select_related("user").filter(digest=digest).first()
