from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector, SearchVectorField
from django.db import models
from django.db.models import F, Func, Q
from django.db.models.functions import Now


class TweetQuerySet(models.QuerySet["Tweet"]):
    def visible(self) -> TweetQuerySet:
        """Tweets anyone may see: not by an inactive (suspended) account. Their rows stay, so that
        lifting the suspension brings them back. `NOT IN` over the partial index of inactive
        accounts (accounts_user_inactive) is one hashed subplan: no join per tweet, whatever the
        list's own plan is."""
        inactive = get_user_model().objects.filter(is_active=False).values("id")
        return self.exclude(author_id__in=inactive)

    def broadcast(self) -> TweetQuerySet:
        """Tweets every follower of their author gets: not replies, or replies to oneself (a
        self-thread). A reply to someone else reaches only followers of both (timeline_of)."""
        return self.filter(Q(reply_to_author__isnull=True) | Q(reply_to_author=F("author")))

    def timeline_of(self, user_id: int) -> TweetQuerySet:
        """The plain SQL answer for a home timeline, of active accounts: own tweets, and followees'
        tweets that pass the reply rule (Twitter's and Mastodon's): a reply to someone else shows
        only if the reader follows that person too, or is that person; a self-thread always shows.
        Tweets by muted accounts, and replies to them, are left out (follows.models.Mute). Blocked
        accounts need no clause: a block removes follows both ways and refuses new ones."""
        from follows.models import Follow, Mute

        followees = Follow.objects.filter(follower_id=user_id).values("followee_id")
        muted = Mute.objects.filter(muter_id=user_id).values("muted_id")
        reply_ok = (
            Q(reply_to_author__isnull=True)
            | Q(reply_to_author=F("author"))
            | Q(reply_to_author=user_id)
            | Q(reply_to_author__in=followees)
        )
        others = Q(author_id__in=followees) & reply_ok & ~Q(author_id__in=muted) & ~Q(reply_to_author__in=muted)
        return self.filter(Q(author_id=user_id) | others).visible()


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
    # Likes, moved by like/unlike in the same transaction as the Like row (a row lock serialises
    # them, so concurrent likes count exactly); lists read it per page instead of COUNT(*) per card.
    like_count = models.IntegerField(default=0, db_default=0)
    # Full-text search vector, maintained by Postgres itself ('simple': no stemming, any language).
    # Replies: the tweet answered and the first tweet of the conversation, as plain ids (no foreign
    # key): a deleted tweet leaves its replies in place, pointing at a "this tweet was deleted"
    # placeholder. Both null for a tweet that starts a conversation.
    in_reply_to = models.BigIntegerField(null=True, blank=True)
    conversation_root = models.BigIntegerField(null=True, blank=True)
    # The author of the tweet answered, copied at write time: the home feed's reply rule (shown to
    # followers who also follow that person) needs it without a join on the parent, which may be gone.
    reply_to_author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    # Replies posted to this tweet and not deleted: kept by the reply's own transaction, so cards
    # never COUNT(*) (tweets.cards caches it beside the row).
    reply_count = models.PositiveIntegerField(default=0, db_default=0)
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
            # A tweet's replies, oldest first (its page's thread).
            models.Index(
                fields=["in_reply_to", "id"], name="tweets_replies_oldest", condition=Q(in_reply_to__isnull=False)
            ),
            # Replies to an account, newest first: what a follow of it adds to a feed, and what an
            # unfollow or a mute takes away (timelines.services).
            models.Index(
                fields=["reply_to_author", "-id"],
                name="tweets_reply_to_author",
                condition=Q(reply_to_author__isnull=False),
            ),
        ]
        constraints = [
            models.UniqueConstraint(fields=["author"], condition=Q(pinned=True), name="tweets_one_pinned_per_author"),
        ]

    def __str__(self) -> str:
        return f"{self.id} by {self.author_id}"


# Likes and bookmarks (issue 21). Each is a (user, tweet) pair, unique, so a double click or two
# tabs make one row (INSERT ... ON CONFLICT DO NOTHING in tweets.services). A like also moves
# Tweet.like_count in the same transaction; a bookmark is private and counted nowhere.
class Like(models.Model):
    id = models.BigAutoField(primary_key=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False)
    # Indexed (the default): deleting a tweet cascades to its likes through it.
    tweet = models.ForeignKey(Tweet, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(db_default=Now())

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "tweet"], name="tweets_like_user_tweet_unique")]
        indexes = [
            # A profile's Likes tab, newest like first (?before=<like id>).
            models.Index(fields=["user", "-id"], name="tweets_like_user_id_desc"),
        ]

    def __str__(self) -> str:
        return f"like of {self.tweet_id} by {self.user_id}"


class Bookmark(models.Model):
    id = models.BigAutoField(primary_key=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False)
    tweet = models.ForeignKey(Tweet, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(db_default=Now())

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "tweet"], name="tweets_bookmark_user_tweet_unique")]
        indexes = [models.Index(fields=["user", "-id"], name="tweets_bookmark_user_id_desc")]

    def __str__(self) -> str:
        return f"bookmark of {self.tweet_id} by {self.user_id}"
