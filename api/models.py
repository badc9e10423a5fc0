"""Personal access tokens: a user's named, scoped credentials for the API, stored as a hash only."""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.db import models

from accounts.models import User


class Scope(models.TextChoices):
    """What a token may do. A browser session holds every scope (it is the person at the keyboard)."""

    READ = "read", "Read your home timeline, profile and discovery lists"
    WRITE = "write", "Tweet, delete and pin tweets, follow and unfollow"
    MESSAGES = "messages", "Read and send your direct messages"


class AccessToken(models.Model):
    """One personal access token. The secret itself is never stored: `digest` is the SHA-256 of the
    whole token (a 256-bit random value, so a plain hash is enough: nothing to brute-force, and a
    lookup by digest is one index probe). `hint` is the start of the token, to tell them apart in
    the list. Revoking deletes the row; deactivating the user stops every token at its next use
    (the lookup joins the user and checks is_active)."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=50)
    digest = models.CharField(max_length=64, unique=True)
    hint = models.CharField(max_length=16)
    scopes = ArrayField(models.CharField(max_length=16, choices=Scope.choices))
    created_at = models.DateTimeField(auto_now_add=True)
    # Updated at most once per API_TOKEN_TOUCH_SECONDS, not on every request.
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "name"],
                name="api_token_name_per_user",
                violation_error_message="You have a token with that name.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.hint}…)"
