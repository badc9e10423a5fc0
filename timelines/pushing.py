"""What a fan-out pushes and to whom: the card of the tweet (or repost), its audience rule, and the
batch-by-batch push to an author's followers. Shared by the fan-out (timelines.services) and the
repost upkeep (timelines.reposts)."""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor

from accounts.models import User
from timelines import followers as followers_read
from timelines import store
from tweets import cards as tweet_cards
from tweets.cards import TweetCard
from tweets.models import Tweet
from tweets.selectors import LIST_VARIANT


def tweet_to_fan_out(tweet_id: int) -> TweetCard | None:
    """The card to fan out, or None when it is gone or by (or reposting) a suspended account."""
    tweet = tweet_cards.cards_for([tweet_id], variant=LIST_VARIANT).get(tweet_id)
    if tweet is None:
        return None  # deleted before we got to it: nothing to show anyone
    authors = {tweet.author_id, tweet.repost_of_author_id or tweet.author_id}
    if User.objects.filter(pk__in=authors, is_active=True).count() != len(authors):
        # Suspended meanwhile (its card may still be cached): its tweets leave feeds, not enter them;
        # so do reposts of a suspended account's tweets.
        return None
    return tweet


def audience(tweet: TweetCard, *, also_follows: int | None = None) -> followers_read.Audience | None:
    """Who among the author's followers gets it: the reply rule for a tweet, the repost rule (mutes,
    blocks, de-duplication) for a repost; None when a repost's original is gone."""
    if tweet.repost_of is None:
        return followers_read.audience_of(author_id=tweet.author_id, reply_to_author_id=tweet.reply_to_author_id)
    row = Tweet(pk=tweet.id, author_id=tweet.author_id, repost_of=tweet.repost_of)
    return followers_read.repost_audience_of(repost=row, also_follows=also_follows)


def push_to_followers(
    *,
    author_id: int,
    tweet_ids: list[int],
    min_floor: int = 0,
    seen: list[int] | None = None,
    after: int = 0,
    upto: int = followers_read.NO_UPPER_BOUND,
    expected: int | None = None,
    audience: followers_read.Audience | None = None,
) -> list[int]:
    """store.push to every follower, batch by batch; returns the users whose feed took an id, and
    adds every follower gone through to `seen` if given.

    Each batch's Lua call runs in Redis while this thread reads the next batch from Postgres (one
    helper thread, pushes still one at a time and in order): the two servers work side by side
    instead of taking turns. redis-py clients are thread-safe; the ORM stays on this thread.
    """
    reached: list[int] = []
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="fanout-push") as pusher:
        pending: Future[list[int]] | None = None
        for batch in followers_read.follower_batches(
            author_id=author_id, after=after, upto=upto, expected=expected, audience=audience
        ):
            if seen is not None:
                seen += batch
            if pending is not None:
                reached += pending.result()
            pending = pusher.submit(store.push, tweet_ids=tweet_ids, user_ids=batch, min_floor=min_floor)
        if pending is not None:
            reached += pending.result()
    return reached


def retract_held_back(
    *, author_id: int, audience: followers_read.Audience, after: int = 0, upto: int = followers_read.NO_UPPER_BOUND
) -> None:
    """A repost committed after later reposts of the same tweet were fanned out: remove those from
    the feeds of every follower (in the range) it is an entry of, held back there or not, and from
    the reposter's own. Rare (two reposts of one tweet committing in the other order); one more
    follower walk then, none otherwise."""
    if not audience.held_back:
        return
    entries = followers_read.Audience(muters=audience.muters)  # no de-duplication: every entry
    store.remove(tweet_ids=audience.held_back, user_ids=[author_id])
    for batch in followers_read.follower_batches(author_id=author_id, after=after, upto=upto, audience=entries):
        store.remove(tweet_ids=audience.held_back, user_ids=batch)
