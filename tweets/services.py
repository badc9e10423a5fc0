"""Writes to tweets: create, delete, pin. Fan-out and trends follow each commit."""

from __future__ import annotations

import unicodedata
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import F

from accounts import cards as author_cards
from accounts.models import User
from accounts.services import require_verified, stats_adjust
from follows.blocks import blocked_either_way, blocked_usernames
from tweethub import outbox
from tweethub.ratelimit import hit, rate_setting
from tweets import cards, marks, reposts
from tweets.models import Bookmark, Like, Tweet
from tweets.parsing import hashtags, mentions

DELETED_PARENT = "That tweet was deleted, so it cannot be answered any more."

# First key of the advisory lock that serialises pin changes per author (the second is the user id).
PIN_LOCK_NAMESPACE = 7301


def _record_trends(tags: list[str]) -> None:
    from tweets import trends

    trends.record(tags)


class ReplyRefused(Exception):
    """A reply that cannot be posted, in words for the person (the view shows it with the form)."""


def _parent_for_reply(*, parent_id: int, author: User) -> Tweet:
    """The tweet being answered, checked: Tweet.DoesNotExist (-> 404) when the author may not see
    it (its author suspended, or a block either way, which a reply must not reveal);
    ReplyRefused when it is gone."""
    parent = Tweet.objects.filter(pk=parent_id).select_related("author").first()
    if parent is not None and parent.repost_of is not None:  # answering a repost answers its original
        parent = Tweet.objects.filter(pk=parent.repost_of).select_related("author").first()
    if parent is None:
        # Deleted (the usual case: the page was open while its author deleted it) or never there:
        # the same answer, since a reply cannot tell one from the other without a tombstone table.
        raise ReplyRefused(DELETED_PARENT)
    if not parent.author.is_active or blocked_either_way(author.pk, parent.author_id):
        raise Tweet.DoesNotExist(f"no tweet {parent_id}")
    return parent


def tweet_create(*, author: User, text: str, in_reply_to: int | None = None, quote_of: int | None = None) -> Tweet:
    """Post a tweet, or with `in_reply_to` a reply to that tweet. The author must be verified;
    text is 1..TWEET_MAX_LENGTH characters after trimming; rate-limited per user (replies count as
    tweets). A reply to a tweet the author may not see raises Tweet.DoesNotExist, to a deleted one
    ReplyRefused; either way nothing is written. The fan-out is queued through the outbox (it
    survives a broker outage); after commit the tweet enters the author's own feed and trends are
    counted. `quote_of`: a quote post embedding that tweet (the same visibility check as a repost:
    Tweet.DoesNotExist when absent or hidden by a block; a repost stands for its original)."""
    require_verified(author)
    text = text.strip()
    if "\x00" in text:
        raise ValidationError({"text": "That text contains a character tweets cannot hold (NUL)."})
    if not any(unicodedata.category(char)[0] not in "ZC" for char in text):
        # Empty, or only spaces and invisible characters (zero-width, controls): nothing to show.
        raise ValidationError({"text": "Write something first."})
    if len(text) > settings.TWEET_MAX_LENGTH:
        raise ValidationError(
            {"text": f"Tweets are at most {settings.TWEET_MAX_LENGTH} characters (this one has {len(text)})."}
        )
    parent = None if in_reply_to is None else _parent_for_reply(parent_id=in_reply_to, author=author)
    quoted = None if quote_of is None else reposts.original_for(tweet_id=quote_of, user=author)
    hit(
        scope="tweet",
        key=str(author.pk),
        rate=rate_setting("RATE_LIMIT_TWEETS_PER_USER"),
        message="You are tweeting very fast. Please wait a little.",
    )
    tags = hashtags(text)
    # A mention of an account that blocked the author, or that the author blocked, is no mention:
    # no notification, no link (tweets.rendering links only stored mentions' accounts).
    mentioned = mentions(text)
    if mentioned:
        refused = blocked_usernames(author.pk, mentioned)
        mentioned = [name for name in mentioned if name not in refused]
    reply_fields: dict[str, Any] = {}
    if parent is not None:
        reply_fields = {
            "in_reply_to": parent.pk,
            "conversation_root": parent.conversation_root or parent.pk,
            "reply_to_author_id": parent.author_id,
        }
    with transaction.atomic():
        # The count, and the proof that the parent still exists at commit: a delete that won the
        # race leaves no row to update, and the reply is refused (rolled back).
        if parent is not None and not Tweet.objects.filter(pk=parent.pk).update(reply_count=F("reply_count") + 1):
            raise ReplyRefused(DELETED_PARENT)
        tweet = Tweet.objects.create(
            author=author,
            text=text,
            tags=tags,
            mentions=mentioned,
            quote_of=quoted.pk if quoted is not None else None,
            **reply_fields,
        )
        stats_adjust(user_id=author.pk, tweets=1)
        outbox.enqueue("timelines.tasks.fanout_tweet_task", tweet.pk)
        # After commit: its card first (its first readers then find it cached), then read-your-writes:
        # the author sees it at once, however long the queue or the broker takes.
        username = parent.author.username if parent is not None else ""
        transaction.on_commit(lambda: cards.write(tweet, reply_to_username=username))
        # A reply to someone else never enters the author's list (timelines.services.fanout_tweet).
        broadcast = parent is None or parent.author_id == author.pk
        outbox.run_after_commit("timelines.tasks.feed_push_own_task", tweet.pk, author.pk, int(broadcast))
        # Notifications after commit, through the outbox (the notifications app sits above this one;
        # it leaves out blocked and muted accounts again, for blocks made since the checks above).
        if parent is not None and parent.author_id != author.pk:
            outbox.enqueue("notifications.tasks.notify_task", "reply", author.pk, parent.author_id, tweet.pk)
        if quoted is not None and quoted.author_id != author.pk:
            outbox.enqueue("notifications.tasks.notify_task", "quote", author.pk, quoted.author_id, tweet.pk)
        if tweet.mentions:
            outbox.enqueue("notifications.tasks.notify_mentions_task", tweet.pk)
        if tags:
            transaction.on_commit(lambda: _record_trends(tags))
    return tweet


def _own_tweet_for_update(*, tweet_id: int, user: User) -> Tweet:
    """Lock the tweet row. Tweet.DoesNotExist (-> 404) if absent; PermissionDenied (-> 403) if it
    is someone else's: a tweet page is public, so its existence is no secret."""
    tweet = Tweet.objects.select_for_update().get(pk=tweet_id)
    if tweet.author_id != user.pk:
        raise PermissionDenied("That is not your tweet.")
    return tweet


def _delete_locked(tweet: Tweet) -> None:
    """Delete a tweet whose row the caller has locked, inside the caller's transaction: counts,
    the retraction from every feed (outbox), and after commit its card (row and HTML) leaves Redis."""
    if tweet.repost_of is not None:  # a repost is undone, not deleted (reposts.repost_delete)
        reposts.delete_locked(tweet)
        return
    tweet_id, author_id, parent_id = tweet.pk, tweet.author_id, tweet.in_reply_to
    reposts.reposts_of_deleted(tweet)
    tweet.delete()
    stats_adjust(user_id=author_id, tweets=-1)
    if parent_id is not None and Tweet.objects.filter(pk=parent_id).update(reply_count=F("reply_count") - 1):
        transaction.on_commit(lambda: cards.replies_changed(tweet_id=parent_id))
    outbox.enqueue("timelines.tasks.retract_tweet_task", tweet_id, author_id)
    transaction.on_commit(lambda: cards.forget(tweet_ids=[tweet_id]))
    if tweet.pinned:
        transaction.on_commit(lambda: author_cards.forget(user_ids=[author_id]))


def tweet_delete(*, tweet_id: int, user: User) -> None:
    """Delete one's own tweet; it leaves every feed, and its card (row and HTML) Redis, after commit."""
    with transaction.atomic():
        _delete_locked(_own_tweet_for_update(tweet_id=tweet_id, user=user))


def tweet_remove(*, tweet_id: int) -> Tweet:
    """Delete anyone's tweet, for moderation: moderation.services checks that the caller is staff
    and logs it. Same effects as tweet_delete. Tweet.DoesNotExist if it is already gone."""
    with transaction.atomic():
        tweet = Tweet.objects.select_for_update().get(pk=tweet_id)
        _delete_locked(tweet)
    return tweet


def _lock_pins_of(user: User) -> None:
    """Serialise pin changes per author (a transaction-scoped advisory lock). Locking the tweet
    row alone is not enough: two tabs pinning two different tweets would both pass and collide on
    tweets_one_pinned_per_author."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [PIN_LOCK_NAMESPACE, user.pk])


def tweet_pin(*, tweet_id: int, user: User) -> Tweet:
    """Pin one's own tweet to the top of one's profile, unpinning any other. Idempotent."""
    with transaction.atomic():
        _lock_pins_of(user)
        tweet = _own_tweet_for_update(tweet_id=tweet_id, user=user)
        if tweet.repost_of is not None:
            raise PermissionDenied("A repost cannot be pinned: pin a tweet of your own.")
        Tweet.objects.filter(author_id=user.pk, pinned=True).exclude(pk=tweet.pk).update(pinned=False)
        if not tweet.pinned:
            tweet.pinned = True
            tweet.save(update_fields=["pinned"])
            # The author card names the pinned tweet (the owner's Pin/Unpin control, the label).
            transaction.on_commit(lambda: author_cards.forget(user_ids=[user.pk]))
    return tweet


def tweet_unpin(*, tweet_id: int, user: User) -> Tweet:
    with transaction.atomic():
        _lock_pins_of(user)
        tweet = _own_tweet_for_update(tweet_id=tweet_id, user=user)
        if tweet.pinned:
            tweet.pinned = False
            tweet.save(update_fields=["pinned"])
            transaction.on_commit(lambda: author_cards.forget(user_ids=[user.pk]))
    return tweet


# Likes and bookmarks (issue 21). Both lock the tweet's row (FOR NO KEY UPDATE) before writing:
#   - a tweet deleted meanwhile cannot leave a like pointing at nothing (the foreign key is checked
#     at commit, too late for a clean answer), and a tweet that is gone or whose author is
#     suspended is Tweet.DoesNotExist (a 404) with nothing changed;
#   - the like counter is a column of that row, so concurrent likes of one tweet queue on its lock
#     and each adds exactly one, while the unique (user, tweet) pair makes a double click one like.
_LIKE_SQL = """
INSERT INTO tweets_like (user_id, tweet_id, created_at) VALUES (%s, %s, now())
ON CONFLICT (user_id, tweet_id) DO NOTHING
"""


def _visible_tweet_locked(tweet_id: int) -> Tweet:
    return Tweet.objects.visible().select_for_update(no_key=True).only("id", "author_id").get(pk=tweet_id)


def _count_likes(tweet_id: int, delta: int) -> None:
    Tweet.objects.filter(pk=tweet_id).update(like_count=F("like_count") + delta)


def _marks_follow(*, user_id: int, tweet_id: int, kind: str, on: bool) -> None:
    """After the commit: the member's cached likes and bookmarks follow, and a like's card count
    goes (tweets.marks.changed: one round trip)."""
    transaction.on_commit(lambda: marks.changed(user_id=user_id, tweet_id=tweet_id, kind=kind, on=on), robust=True)


def like_create(*, user: User, tweet_id: int) -> bool:
    """Like a tweet. Idempotent: True if a like was made, False if it existed. Verified users only,
    rate-limited with unlikes (RateLimited); Tweet.DoesNotExist for a tweet that is gone or hidden,
    or whose author has a block with the liker either way (a 404, as for a reply: the answer must
    not reveal the block), nothing changed. The author is notified after commit (through the
    outbox), never of their own like."""
    require_verified(user)
    _limit_likes(user)
    with transaction.atomic():
        tweet = _visible_tweet_locked(tweet_id)
        if tweet.author_id != user.pk and blocked_either_way(user.pk, tweet.author_id):
            raise Tweet.DoesNotExist(f"no tweet {tweet_id}")
        with connection.cursor() as cursor:
            cursor.execute(_LIKE_SQL, [user.pk, tweet.pk])
            created: bool = cursor.rowcount == 1
        if created:
            _count_likes(tweet.pk, 1)
            _marks_follow(user_id=user.pk, tweet_id=tweet.pk, kind="l", on=True)
            if tweet.author_id != user.pk:
                outbox.enqueue("notifications.tasks.notify_task", "like", user.pk, tweet.author_id, tweet.pk)
    return created


def like_delete(*, user: User, tweet_id: int) -> bool:
    """Take a like back. Idempotent: True if one was removed. Rate-limited with likes;
    Tweet.DoesNotExist for a tweet that is gone or hidden."""
    require_verified(user)
    _limit_likes(user)
    with transaction.atomic():
        tweet = _visible_tweet_locked(tweet_id)
        deleted, _ = Like.objects.filter(user_id=user.pk, tweet_id=tweet.pk).delete()
        if deleted:
            _count_likes(tweet.pk, -1)
            _marks_follow(user_id=user.pk, tweet_id=tweet.pk, kind="l", on=False)
    return bool(deleted)


def _limit_likes(user: User) -> None:
    hit(
        scope="like",
        key=str(user.pk),
        rate=rate_setting("RATE_LIMIT_LIKES_PER_USER"),
        message="You are liking very fast. Please wait a little.",
    )


def bookmark_create(*, user: User, tweet_id: int) -> bool:
    """Bookmark a tweet, privately (nobody else ever sees it). Idempotent: True if it was new.
    Any member (reading needs no verification); rate-limited; Tweet.DoesNotExist for a tweet that
    is gone or hidden."""
    _limit_bookmarks(user)
    with transaction.atomic():
        tweet = _visible_tweet_locked(tweet_id)
        _, created = Bookmark.objects.get_or_create(user_id=user.pk, tweet_id=tweet.pk)
        if created:
            _marks_follow(user_id=user.pk, tweet_id=tweet.pk, kind="b", on=True)
    return created


def bookmark_delete(*, user: User, tweet_id: int) -> bool:
    """Remove one's bookmark of a tweet. Idempotent. Works for a tweet that has become hidden
    (one's own list must be tidied whatever happened to the tweet); Tweet.DoesNotExist when there
    was no bookmark and the tweet is gone or hidden (as for the other actions)."""
    _limit_bookmarks(user)
    deleted, _ = Bookmark.objects.filter(user_id=user.pk, tweet_id=tweet_id).delete()
    if deleted:
        _marks_follow(user_id=user.pk, tweet_id=tweet_id, kind="b", on=False)
    if not deleted and not Tweet.objects.visible().filter(pk=tweet_id).exists():
        raise Tweet.DoesNotExist(f"no tweet {tweet_id}")
    return bool(deleted)


def _limit_bookmarks(user: User) -> None:
    hit(
        scope="bookmark",
        key=str(user.pk),
        rate=rate_setting("RATE_LIMIT_BOOKMARKS_PER_USER"),
        message="You are bookmarking very fast. Please wait a little.",
    )
