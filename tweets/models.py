from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector, SearchVectorField
from django.db import models
from django.db.models import Func, Q
from django.db.models.functions import Now


class TweetQuerySet(models.QuerySet["Tweet"]):
    def visible(self) -> TweetQuerySet:
        """Tweets anyone may see: not by an inactive (suspended) account. Their rows stay, so that
        lifting the suspension brings them back. `NOT IN` over the partial index of inactive
        accounts (accounts_user_inactive) is one hashed subplan: no join per tweet, whatever the
        list's own plan is."""
        inactive = get_user_model().objects.filter(is_active=False).values("id")
        return self.exclude(author_id__in=inactive)

    def timeline_of(self, user_id: int) -> TweetQuerySet:
        """The plain SQL answer for a home timeline: own tweets and followees' tweets, of active
        accounts."""
        from follows.models import Follow

        followees = Follow.objects.filter(follower_id=user_id).values("followee_id")
        return self.filter(Q(author_id=user_id) | Q(author_id__in=followees)).visible()


class Tweet(models.Model):
    # Time-sortable 53-bit id from Postgres (tweethub.ids): the Redis score and the page cursor.
    id = models.BigIntegerField(primary_key=True, db_default=Func(function="tweets_next_id"), editable=False)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="tweets")
    # Length is checked by the service against TWEET_MAX_LENGTH (a setting), not fixed in the schema.
    text = models.TextField()
    # Lower-cased hashtags and mentioned usernames, parsed once at write time.
    tags = ArrayField(models.CharField(max_length=100), default=list, blank=True)
    mentions = ArrayField(models.CharField(max_length=15), default=list, blank=True)
    created_at = models.DateTimeField(db_default=Now())
    pinned = models.BooleanField(default=False)
    # Full-text search vector, maintained by Postgres itself ('simple': no stemming, any language).
    search = models.GeneratedField(
        expression=SearchVector("text", config="simple"),
        output_field=SearchVectorField(),
        db_persist=True,
    )

    objects = TweetQuerySet.as_manager()

    class Meta:
        indexes = [
            # Profile pages and the pull-model timeline query: an author's tweets, newest first.
            models.Index(fields=["author", "-id"], name="tweets_author_id_desc"),
            GinIndex(fields=["tags"], name="tweets_tags_gin"),
            # Tweet search: tweets mentioning an account the query names (tweets.search).
            GinIndex(fields=["mentions"], name="tweets_mentions_gin"),
            GinIndex(fields=["search"], name="tweets_search_gin"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["author"], condition=Q(pinned=True), name="tweets_one_pinned_per_author"),
        ]

    def __str__(self) -> str:
        return f"{self.id} by {self.author_id}"
