from __future__ import annotations

import uuid
from typing import ClassVar

from django.contrib.auth.models import AbstractUser, UserManager
from django.core.validators import MaxValueValidator, MinLengthValidator, MinValueValidator
from django.db import models
from django.db.models.functions import Lower

from accounts.validators import USERNAME_MAX_LENGTH, UsernameValidator


def avatar_path(instance: User, filename: str) -> str:
    # A fresh name per upload: browsers and proxies may cache avatars forever.
    return f"avatars/{instance.pk}/{uuid.uuid4().hex}.webp"


class TweetHubUserManager(UserManager["User"]):
    def get_by_natural_key(self, username: str | None) -> User:
        """Usernames are unique case-insensitively, so look them up that way everywhere."""
        return self.get(username__iexact=username)


class User(AbstractUser):
    """TweetHub's user. Custom from the first migration; first/last name are replaced by `name`.

    Usernames and emails are unique case-insensitively (functional unique indexes on lower()),
    stored as typed so people keep the capitalisation they chose.
    """

    first_name = None  # type: ignore[assignment]
    last_name = None  # type: ignore[assignment]

    username = models.CharField(
        max_length=USERNAME_MAX_LENGTH,
        unique=True,
        validators=[UsernameValidator()],
        help_text="1 to 15 letters, digits or underscores.",
        error_messages={"unique": "That username is taken."},
    )
    name = models.CharField(
        "display name",
        max_length=50,
        validators=[MinLengthValidator(1)],
        help_text="1 to 50 characters.",
    )
    email = models.EmailField("email address", max_length=254)
    bio = models.CharField(max_length=160, blank=True)
    location = models.CharField(max_length=30, blank=True)
    website = models.URLField(max_length=200, blank=True)
    avatar = models.ImageField(upload_to=avatar_path, blank=True)
    # Opt-in position for "nearby" (never shown exactly); both set or both empty.
    latitude = models.FloatField(
        null=True, blank=True, validators=[MinValueValidator(-90), MaxValueValidator(90)]
    )
    longitude = models.FloatField(
        null=True, blank=True, validators=[MinValueValidator(-180), MaxValueValidator(180)]
    )
    last_active = models.DateTimeField(null=True, blank=True, db_index=True)
    verified_at = models.DateTimeField(null=True, blank=True)

    REQUIRED_FIELDS = ["email", "name"]

    objects: ClassVar[TweetHubUserManager] = TweetHubUserManager()

    class Meta:
        db_table = "accounts_user"
        constraints = [
            models.UniqueConstraint(
                Lower("username"), name="accounts_user_username_ci_unique",
                violation_error_message="That username is taken.",
            ),
            models.UniqueConstraint(
                Lower("email"), name="accounts_user_email_ci_unique",
                violation_error_message="An account with that email address already exists.",
            ),
            models.CheckConstraint(
                condition=(models.Q(latitude__isnull=True) & models.Q(longitude__isnull=True))
                | (models.Q(latitude__isnull=False) & models.Q(longitude__isnull=False)),
                name="accounts_user_position_complete",
            ),
        ]  # fmt: skip

    def __str__(self) -> str:
        return f"@{self.username}"

    @property
    def is_verified(self) -> bool:
        return self.verified_at is not None
