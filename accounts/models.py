from __future__ import annotations

import uuid
from typing import ClassVar

from django.contrib.auth.models import AbstractUser, UserManager
from django.contrib.postgres.indexes import GinIndex, OpClass
from django.core.validators import MaxValueValidator, MinLengthValidator, MinValueValidator
from django.db import models
from django.db.models.functions import Lower

from accounts.validators import USERNAME_MAX_LENGTH, UsernameValidator


def avatar_path(instance: User, filename: str) -> str:
    # A fresh name per upload: browsers and proxies may cache avatars forever.
    return f"avatars/{instance.pk}/{uuid.uuid4().hex}.webp"


class DmPolicy(models.TextChoices):
    """Who may start sending a user direct messages (messaging.selectors.message_refusal)."""

    EVERYONE = "everyone", "Everyone"
    FOLLOWING = "following", "Only people I follow"


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
    # The position shared with "people nearby", present only while the user shares it (stopping
    # erases it: no position is kept that nobody may see). Stored snapped to a ~1 km grid
    # (accounts.services.location_share) and never shown, only distances in whole km; both set or
    # both empty. The Redis GEO index (accounts.geo) is rebuilt from these columns.
    latitude = models.FloatField(null=True, blank=True, validators=[MinValueValidator(-90), MaxValueValidator(90)])
    longitude = models.FloatField(null=True, blank=True, validators=[MinValueValidator(-180), MaxValueValidator(180)])
    # When sharing last started, moved or stopped: a GEO index rebuild replays changes since it began.
    location_updated_at = models.DateTimeField(null=True, blank=True, db_index=True)
    last_active = models.DateTimeField(null=True, blank=True, db_index=True)
    verified_at = models.DateTimeField(null=True, blank=True)
    # Set by moderation (moderation.services.account_suspend) together with is_active=False, which
    # is what every gate reads (login, sessions, tweet visibility: Tweet.objects.visible()); this
    # only says why the account is inactive and since when, for its profile and the staff pages.
    suspended_at = models.DateTimeField(null=True, blank=True)
    # db_default too: code still running the previous release keeps inserting users during a deploy.
    dm_policy = models.CharField(
        "who can send me messages",
        max_length=10,
        choices=DmPolicy.choices,
        default=DmPolicy.EVERYONE,
        db_default=DmPolicy.EVERYONE,
    )

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
            models.CheckConstraint(
                condition=models.Q(suspended_at__isnull=True) | models.Q(is_active=False),
                name="accounts_user_suspended_inactive",
            ),
        ]  # fmt: skip
        indexes = [
            # People search: trigram similarity on username and display name (pg_trgm).
            GinIndex(OpClass(Lower("username"), name="gin_trgm_ops"), name="accounts_user_username_trgm"),
            GinIndex(OpClass(Lower("name"), name="gin_trgm_ops"), name="accounts_user_name_trgm"),
            # The users who share a position: the GEO index rebuild and the SQL fallback scan only these.
            models.Index(fields=["id"], condition=models.Q(latitude__isnull=False), name="accounts_user_sharing"),
            # The few inactive (suspended) accounts: every tweet list leaves their tweets out with
            # `author_id NOT IN (...)` (Tweet.objects.visible()), a hashed subplan read from here.
            models.Index(fields=["id"], condition=models.Q(is_active=False), name="accounts_user_inactive"),
        ]

    def __str__(self) -> str:
        return f"@{self.username}"

    @property
    def is_verified(self) -> bool:
        return self.verified_at is not None

    @property
    def is_suspended(self) -> bool:
        return self.suspended_at is not None

    @property
    def avatar_url(self) -> str:
        """The avatar's URL, "" for none: what accounts/_avatar.html shows, for a user row or an
        author card (tweets.cards.AuthorCard) alike."""
        return self.avatar.url if self.avatar else ""


class FanoutMode(models.TextChoices):
    """How a user's new tweets reach followers' home feeds."""

    PUSH = "push", "fan out on write"
    # Over CELEBRITY_THRESHOLD followers: not fanned out, merged into readers' pages at read time.
    PULL = "pull", "merged at read time"
    # Back under the threshold: new tweets are fanned out again while a task backfills the recent
    # ones into feeds; readers keep merging until it finishes, so nothing goes missing meanwhile.
    DEMOTING = "demoting", "being backfilled"


class UserStats(models.Model):
    """Exact counts for profiles, kept in the same transaction as the rows they count.

    A separate row (not columns on User) so that busy counters never lock the user row that
    logins and last_active updates need.
    """

    user = models.OneToOneField(User, on_delete=models.CASCADE, primary_key=True, related_name="stats")
    followers = models.PositiveIntegerField(default=0)
    following = models.PositiveIntegerField(default=0)
    tweets = models.PositiveIntegerField(default=0)
    fanout_mode = models.CharField(max_length=10, choices=FanoutMode.choices, default=FanoutMode.PUSH)

    class Meta:
        indexes = [
            models.Index(
                fields=["fanout_mode"], name="stats_not_push",
                condition=~models.Q(fanout_mode="push"),
            ),
        ]  # fmt: skip

    def __str__(self) -> str:
        return f"stats of {self.user_id}"
