from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector, SearchVectorField
from django.db import models
from django.db.models import Exists, F, Func, OuterRef, Q
from django.db.models.functions import Now

from tweethub.ids import SEQUENCE_BITS


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
        self-thread). A reply to someone else reaches only followers of both (timeline_of).
        Not reposts either: a follower gets a repost only under the de-duplication rule
        (tweets.reposts), so reposts never enter a pull-mode author list that readers merge blindly."""
        return self.filter(Q(reply_to_author__isnull=True) | Q(reply_to_author=F("author")), repost_of__isnull=True)

    def profile(self) -> TweetQuerySet:
        """A profile's "Tweets" tab: broadcast tweets and the account's reposts."""
        return self.filter(
            Q(reply_to_author__isnull=True) | Q(reply_to_author=F("author")) | Q(repost_of__isnull=False)
        )

    def timeline_of(self, user_id: int) -> TweetQuerySet:
        """The plain SQL answer for a home timeline (tests/oracles.py states the same rule by hand):
        the entries (`timeline_entries_of`), minus reposts that the de-duplication rule holds
        back: a repost R of tweet O is left out when another entry about O (O itself, or another
        repost of O) is among the reader's entries with an id in [R.id - W, R.id), W being
        REPOST_DEDUP_SECONDS in id units. Entries count whether or not they are shown themselves,
        so the rule never recurses, and it depends on Postgres alone, never on a feed's history."""
        window = settings.REPOST_DEDUP_SECONDS * 1000 << SEQUENCE_BITS
        earlier = Tweet.objects.timeline_entries_of(user_id).filter(
            Q(id=OuterRef("repost_of")) | Q(repost_of=OuterRef("repost_of")),
            id__lt=OuterRef("id"),
            id__gte=OuterRef("id") - window,
        )
        return self.timeline_entries_of(user_id).filter(Q(repost_of__isnull=True) | ~Exists(earlier))

    def timeline_entries_of(self, user_id: int) -> TweetQuerySet:
        """Every entry a home timeline may show, of active accounts, before de-duplication: own
        tweets and reposts, and followees' tweets that pass the reply rule (Twitter's and
        Mastodon's): a reply to someone else shows only if the reader follows that person too, or
        is that person; a self-thread always shows. Reposts show unless the original's author is
        muted or blocked either way, or suspended. Tweets by muted accounts, and replies to them,
        are left out (follows.models.Mute). Blocked followees need no clause: a block removes
        follows both ways and refuses new ones."""
        from follows.models import Block, Follow, Mute

        followees = Follow.objects.filter(follower_id=user_id).values("followee_id")
        muted = Mute.objects.filter(muter_id=user_id).values("muted_id")
        reply_ok = (
            Q(reply_to_author__isnull=True)
            | Q(reply_to_author=F("author"))
            | Q(reply_to_author=user_id)
            | Q(reply_to_author__in=followees)
        )
        others = Q(author_id__in=followees) & reply_ok & ~Q(author_id__in=muted) & ~Q(reply_to_author__in=muted)
        hidden_original = (
            Q(repost_of_author__in=muted)
            | Q(repost_of_author__in=Block.objects.filter(blocker_id=user_id).values("blocked_id"))
            | Q(repost_of_author__in=Block.objects.filter(blocked_id=user_id).values("blocker_id"))
            | Q(repost_of_author__in=get_user_model().objects.filter(is_active=False).values("id"))
        )
        original_ok = Q(repost_of__isnull=True) | ~hidden_original
        return self.filter(Q(author_id=user_id) | others).filter(original_ok).visible()


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
    # Reposts (tweets.reposts): a repost is a Tweet row of its own with empty text, pointing at the
    # original. Its id comes from the same time-ordered sequence as tweets, so it is a feed member
    # and a page cursor like any tweet: fan-out, chunking, retraction, rebuilds and paging need no
    # second kind of entry. The original's author is copied at write time (the read rules need no
    # join on the original); deleting that account deletes the reposts of its tweets with it.
    repost_of = models.BigIntegerField(null=True, blank=True)
    repost_of_author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    # A quote post: a normal tweet embedding another one (a plain id: a deleted quoted tweet shows
    # "This tweet was deleted").
    quote_of = models.BigIntegerField(null=True, blank=True)
    # Reposts of this tweet not undone: kept by the repost's own transaction (no COUNT(*) per card).
    repost_count = models.PositiveIntegerField(default=0, db_default=0)
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
            # A tweet's reposts in time order: the de-duplication rule and undo (tweets.reposts).
            models.Index(fields=["repost_of", "id"], name="tweets_reposts", condition=Q(repost_of__isnull=False)),
            # Reposts of an account's tweets: what following or muting it adds or takes away.
            models.Index(
                fields=["repost_of_author", "-id"],
                name="tweets_repost_of_author",
                condition=Q(repost_of_author__isnull=False),
            ),
        ]
        constraints = [
            # One repost per person and tweet: a double click or two tabs repost once.
            models.UniqueConstraint(
                fields=["author", "repost_of"], condition=Q(repost_of__isnull=False), name="tweets_one_repost_per_user"
            ),
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
