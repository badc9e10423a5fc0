from __future__ import annotations

from django.contrib.auth.models import AbstractUser


class User(AbstractUser):
    """TweetHub's user, custom from the first migration so that profile fields, case-insensitive
    usernames and verification can be added later without swapping AUTH_USER_MODEL mid-life."""

    class Meta:
        db_table = "accounts_user"
