from __future__ import annotations

import uuid
from typing import Any, ClassVar

from django.contrib.auth.models import AbstractUser, UserManager
from django.contrib.postgres.indexes import GinIndex, OpClass
from django.core.validators import MaxValueValidator, MinLengthValidator, MinValueValidator
from django.db import models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Lookup
from django.db.models.functions import Lower
from django.db.models.sql.compiler import SQLCompiler

from accounts.validators import USERNAME_MAX_LENGTH, UsernameValidator


def avatar_path(instance: User, filename: str) -> str:
    # A fresh name per upload: browsers and proxies may cache avatars forever.
    return f"avatars/{instance.pk}/{uuid.uuid4().hex}.webp"


class DmPolicy(models.TextChoices):
    """Who may start sending a user direct messages (messaging.selectors.message_refusal)."""

    EVERYONE = "everyone", "Everyone"
    FOLLOWING = "following", "Only people I follow"


class LowerExact(Lookup):  # type: ignore[type-arg]
    """`field__iexact=value` as LOWER(field) = LOWER(value), the expression of the unique indexes on
    lower(username) and lower(email). Django's own iexact compares UPPER() on PostgreSQL, which no
    index serves: every profile page, login and "username taken?" check was a sequential scan of
    accounts_user. Usernames are ASCII (UsernameValidator); for emails lower() and upper() agree on
    what they fold, and lower() is what the unique constraint already decides with."""

    lookup_name = "iexact"

    def as_sql(self, compiler: SQLCompiler, connection: BaseDatabaseWrapper) -> tuple[str, list[Any]]:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"LOWER({lhs}) = LOWER({rhs})", [*lhs_params, *rhs_params]


class CaseInsensitiveCharField(models.CharField):  # type: ignore[type-arg]
    """A CharField whose iexact lookup uses the LOWER() functional index (LowerExact)."""


class CaseInsensitiveEmailField(models.EmailField):  # type: ignore[type-arg]
    """An EmailField whose iexact lookup uses the LOWER() functional index (LowerExact)."""


CaseInsensitiveCharField.register_lookup(LowerExact)
CaseInsensitiveEmailField.register_lookup(LowerExact)


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

    # Unique case-insensitively by accounts_user_username_ci_unique alone: a plain unique=True
    # would add two more indexes (the case-sensitive unique one and its varchar_pattern_ops twin)
    # that no query reads, and every insert and non-HOT update would still pay for them.
    username = CaseInsensitiveCharField(
        max_length=USERNAME_MAX_LENGTH,
        validators=[UsernameValidator()],
        help_text="1 to 15 letters, digits or underscores.",
    )
    name = models.CharField(
        "display name",
        max_length=50,
        validators=[MinLengthValidator(1)],
        help_text="1 to 50 characters.",
    )
    email = CaseInsensitiveEmailField("email address", max_length=254)
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
    location_updated_at = models.DateTimeField(null=True, blank=True)
    # Not indexed, on purpose: it is the column written most (every active user, every
    # LAST_ACTIVE_RESOLUTION_SECONDS), and an index on it made each of those writes a non-HOT update
    # that inserted an entry into every index of this table (two of them GIN). Unindexed, the write
    # is a HOT update (fillfactor 90 leaves the room, migration 0008). Its one range reader, the
    # hourly inactive-feed sweep (timelines.services.drop_inactive_feeds), scans the table instead.
    last_active = models.DateTimeField(null=True, blank=True)
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
            # The GEO index rebuild replays position changes made since it began
            # (accounts.services.geo_index_rebuild). Partial: most people never share a position.
            models.Index(
                fields=["location_updated_at"],
                condition=models.Q(location_updated_at__isnull=False),
                name="accounts_user_location_changed",
            ),
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
    logins and last_active updates need. `following` and `tweets` change only by the user's own
    actions, so they are updated here in place. `followers` is NOT the whole count: a follow adds
    to one of the account's FollowerShard rows instead, so a celebrity's new followers do not all
    queue on this one row lock; beat folds the shards in here (accounts.services.follower_shards_fold).
    The exact count is `followers` plus the account's shards: read it with accounts.selectors.stats_for.
    """

    user = models.OneToOneField(User, on_delete=models.CASCADE, primary_key=True, related_name="stats")
    # Folded follower count; see the class docstring (add the shards for the exact count).
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


class FollowerShard(models.Model):
    """Follower-count changes not yet folded into UserStats.followers, spread over
    FOLLOWER_COUNT_SHARDS rows per account (the follower's id picks the row).

    Concurrent follows of one account lock different rows, so they no longer serialise on one
    counter row; a follower's follow and unfollow land on the same shard. Values may be negative
    (an unfollow after a fold). Rows are deleted when folded, so the table holds only the accounts
    followed or unfollowed since the last fold: a queue-like table, vacuumed eagerly (migration 0008).
    """

    pk = models.CompositePrimaryKey("user_id", "shard")
    # No foreign-key constraint: deleting an account must not wait on, or lock, the shards that
    # concurrent follows write. Rows of a deleted account are deleted with it (user_delete) and a
    # late one is dropped by the fold, which only folds into existing UserStats rows.
    user = models.ForeignKey(User, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="+")
    shard = models.PositiveSmallIntegerField()
    followers = models.IntegerField(default=0)

    def __str__(self) -> str:
        return f"followers of {self.user_id} (shard {self.shard}): {self.followers:+d}"
