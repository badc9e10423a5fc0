"""Reads of personal access tokens."""

from __future__ import annotations

from api import tokens
from api.models import AccessToken


def tokens_of(*, user_id: int) -> list[AccessToken]:
    """The user's tokens, newest first (the settings page lists them; secrets are not there)."""
    return list(AccessToken.objects.filter(user_id=user_id).order_by("-id"))


def token_by_secret(raw: str) -> AccessToken | None:
    """The token whose secret is `raw`, with its user joined in, or None: one query by the digest's
    unique index (none for a string that is not token-shaped). The caller checks the user is active."""
    if not tokens.well_formed(raw):
        return None
    return AccessToken.objects.select_related("user").filter(digest=tokens.digest(raw)).first()
