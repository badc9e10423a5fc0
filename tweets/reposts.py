"""Reposts (retweets, boosts): writes. A repost is a Tweet row of its own (author = the reposter,
empty text, `repost_of` = the original, `repost_of_author` = the original's author), with an id
from the same time-ordered sequence as tweets. So a repost is an ordinary feed member: it fans out
through the same outbox task, queues, chunks and retraction as a tweet, and pages by the same
cursor; the card layer shows it as the original's card with a "reposted by" line.

The de-duplication rule (Mastodon's, made exact): a repost R of tweet O is left out of a reader's
home timeline when another entry about O (O itself, or another repost of O) is among the reader's
timeline entries with an id in [R.id - W, R.id), W = REPOST_DEDUP_SECONDS. It is stated once in
SQL (Tweet.timeline_of, tests/oracles.py) and applied by the fan-out as a semi-join
(timelines.followers.Audience.shadowed_by), so feeds, rebuilds and pages past the feed agree.

The original's author is notified of a repost (grouped per tweet) through the outbox.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.db.models import F

from accounts.models import User
from accounts.services import require_verified
from follows.blocks import blocked_either_way
from tweethub import outbox
from tweethub.ratelimit import hit, rate_setting
from tweets import cards
from tweets.models import Tweet

DELETED_ORIGINAL = "That tweet was deleted, so it cannot be reposted any more."


class RepostRefused(Exception):
    """A repost that cannot be made, in words for the person (shown as a message)."""


def original_for(*, tweet_id: int, user: User) -> Tweet:
    """The tweet `user` wants to repost or quote, checked. A repost given stands for its original
    (reposting a repost reposts the tweet). Tweet.DoesNotExist (-> 404) when absent or when the
    user may not see it: its author suspended, or a block either way (which must not be revealed)."""
    tweet = Tweet.objects.filter(pk=tweet_id).select_related("author").first()
    if tweet is not None and tweet.repost_of is not None:
        tweet = Tweet.objects.filter(pk=tweet.repost_of).select_related("author").first()
    if tweet is None or not tweet.author.is_active or blocked_either_way(user.pk, tweet.author_id):
        raise Tweet.DoesNotExist(f"no tweet {tweet_id}")
    return tweet


def repost_create(*, user: User, tweet_id: int) -> Tweet:
    """Repost a tweet. Idempotent: reposting it again returns the existing repost, unchanged.
    Verified users only; rate-limited with tweets (the same limit). Tweet.DoesNotExist for a tweet
    the user may not see; RepostRefused when it was deleted before the repost committed. The
    fan-out is queued through the outbox in the same transaction as the row and the count."""
    require_verified(user)
    original = original_for(tweet_id=tweet_id, user=user)
    existing = Tweet.objects.filter(author_id=user.pk, repost_of=original.pk).first()
    if existing is not None:
        return existing
    hit(
        scope="tweet",
        key=str(user.pk),
        rate=rate_setting("RATE_LIMIT_TWEETS_PER_USER"),
        message="You are posting very fast. Please wait a little.",
    )
    try:
        with transaction.atomic():
            # The count, and the proof that the original still exists at commit (a delete that won
            # the race leaves no row to update: the repost is refused, nothing written).
            if not Tweet.objects.filter(pk=original.pk).update(repost_count=F("repost_count") + 1):
                raise RepostRefused(DELETED_ORIGINAL)
            repost = Tweet.objects.create(
                author=user, text="", repost_of=original.pk, repost_of_author_id=original.author_id
            )
            outbox.enqueue("timelines.tasks.fanout_tweet_task", repost.pk)
            transaction.on_commit(lambda: cards.write(repost))
            transaction.on_commit(lambda: cards.counts_changed(tweet_id=original.pk))
            # The original's author is told after commit, through the outbox like the fan-out (the
            # notifications app leaves out one's own reposts and blocked or muted accounts).
            outbox.enqueue("notifications.tasks.notify_task", "repost", user.pk, original.author_id, original.pk)
    except IntegrityError:
        # The same person reposted it in another tab meanwhile (tweets_one_repost_per_user).
        return Tweet.objects.get(author_id=user.pk, repost_of=original.pk)
    return repost


def repost_delete(*, user: User, tweet_id: int) -> bool:
    """Undo one's repost of a tweet (`tweet_id`: the original, or the repost itself). Idempotent:
    False when there was nothing to undo. The repost leaves every feed through the retraction task;
    reposts by others that this one held back (the de-duplication rule) are pushed again by
    `reposts_refresh_task`, both from the outbox in the repost's delete transaction."""
    with transaction.atomic():
        repost = (
            Tweet.objects.select_for_update()
            .filter(author_id=user.pk)
            .filter(pk=tweet_id, repost_of__isnull=False)
            .first()
        ) or Tweet.objects.select_for_update().filter(author_id=user.pk, repost_of=tweet_id).first()
        if repost is None:
            return False
        delete_locked(repost)
    return True


def delete_locked(repost: Tweet) -> None:
    """Delete a repost whose row the caller has locked, inside the caller's transaction."""
    repost_id, original_id = repost.pk, repost.repost_of
    assert original_id is not None
    repost.delete()
    Tweet.objects.filter(pk=original_id).update(repost_count=F("repost_count") - 1)
    outbox.enqueue("timelines.tasks.retract_tweet_task", repost_id, repost.author_id)
    outbox.enqueue("timelines.tasks.reposts_refresh_task", original_id, repost_id, repost.author_id)
    transaction.on_commit(lambda: cards.forget(tweet_ids=[repost_id]))
    transaction.on_commit(lambda: cards.counts_changed(tweet_id=original_id))


def reposts_of_deleted(original: Tweet) -> None:
    """The original is being deleted (caller's transaction, row locked): its reposts go with it,
    each retracted from the feeds it reached. Readers skip them even before that (no card: the
    original is gone)."""
    reposts = list(Tweet.objects.filter(repost_of=original.pk).values_list("id", "author_id"))
    if not reposts:
        return
    Tweet.objects.filter(repost_of=original.pk).delete()
    for repost_id, author_id in reposts:
        outbox.enqueue("timelines.tasks.retract_tweet_task", repost_id, author_id)
    transaction.on_commit(lambda: cards.forget(tweet_ids=[repost_id for repost_id, _ in reposts]))
