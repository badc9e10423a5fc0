"""Writes to home feeds: fan-out, retraction, follow backfill, rebuilds, sweeps.

Postgres is the truth; feeds are a cache of it with one invariant (see timelines.store): a feed
holds every timeline tweet above its floor, except those of accounts in pull mode, which readers
merge in themselves. Every function here keeps that invariant and is idempotent, so a task that is
retried, or runs twice after a worker died, does no harm.
"""

from __future__ import annotations

import logging
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import redis
from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from accounts import cards as author_cards
from accounts.models import FanoutMode, User, UserStats
from accounts.selectors import stats_for
from accounts.services import fanout_mode_finish_demotion
from follows import feedstate
from follows.models import Follow
from timelines import followers as followers_read
from timelines import store
from timelines.bulk import feeds_bulk_build as feeds_bulk_build  # seed, bench and tests import it from here
from tweethub import outbox
from tweets import cards as tweet_cards
from tweets.cards import TweetCard
from tweets.models import Tweet
from tweets.selectors import LIST_VARIANT

logger = logging.getLogger(__name__)


def _active_since() -> datetime:
    return timezone.now() - timedelta(days=settings.ACTIVE_DAYS)


def _mode_and_followers(user_id: int) -> tuple[str, int]:
    """The account's fan-out mode and exact follower count (folded count plus shards), one query."""
    stats = stats_for(user_id)
    return (stats.fanout_mode or FanoutMode.PUSH, int(stats.followers))


@dataclass(frozen=True)
class Fanout:
    """What one fan-out did, with what it loaded, so the task's metrics and live delivery need no
    second look at the same rows."""

    tweet: TweetCard  # loaded once, also used to render the live payload
    reached: list[int]  # users whose feed took the tweet
    pull_mode: bool  # the author is a celebrity: followers' feeds were not written
    # Every follower the fan-out went through (push mode), feed or not: live delivery goes to those
    # online, so a follower with the site open but no feed (inactive, or never opened Home) still
    # sees the tweet arrive. Empty in pull mode (live delivery starts from who is online instead).
    followers: list[int] = field(default_factory=list)
    # Whether live delivery includes the author: the whole fan-out or its first task does; the chunks
    # of a large one (fanout_chunk) announce to their own followers only, so the author hears once.
    to_author: bool = True
    # Follower ranges (after, upto] sent on as chunk tasks (a large audience); then `followers` is
    # empty and each chunk announces to its own.
    chunks: list[tuple[int, int]] = field(default_factory=list)


def _tweet_to_fan_out(tweet_id: int) -> TweetCard | None:
    tweet = tweet_cards.cards_for([tweet_id], variant=LIST_VARIANT).get(tweet_id)
    if tweet is None:
        return None  # deleted before we got to it: nothing to show anyone
    if not User.objects.filter(pk=tweet.author_id, is_active=True).exists():
        # Suspended meanwhile (its card may still be cached): its tweets leave feeds, not enter them.
        return None
    return tweet


def fanout_tweet(*, tweet_id: int) -> Fanout | None:
    """Write a new tweet into its author's feed and every active follower's feed.

    One SQL fetch and one Redis round trip per FANOUT_BATCH_SIZE followers (never one job or one
    call per follower). Accounts in pull mode only reach their own feed: readers merge the rest.
    Above FANOUT_LARGE_THRESHOLD followers only the author's feed is written here: the followers
    are cut into ranges of FANOUT_CHUNK_SIZE, each queued through the outbox as a
    `fanout_chunk_task` (fanout_chunk) that any `fanout_large` worker runs, side by side.
    None if the tweet was deleted before we got to it. Idempotent (a rerun queues the chunks
    again: their pushes are idempotent too).
    """
    tweet = _tweet_to_fan_out(tweet_id)
    if tweet is None:
        return None
    reached = store.push(tweet_ids=[tweet_id], user_ids=[tweet.author_id])
    mode, follower_count = _mode_and_followers(tweet.author_id)
    audience = followers_read.audience_of(author_id=tweet.author_id, reply_to_author_id=tweet.reply_to_author_id)
    if mode != FanoutMode.PUSH and audience.reply_to is None:
        # Readers merge a pull-mode (or demoting) account's tweets from its author list, if built.
        # Only what every follower gets goes there: a reply to someone else is pushed (below) to
        # the followers of both, whatever the mode, since readers cannot tell from Redis whom they
        # follow (the semi-join keeps that push to the overlap of two audiences).
        store.push(tweet_ids=[tweet_id], user_ids=[tweet.author_id], kind=store.Kind.AUTHOR)
    pull_mode = mode == FanoutMode.PULL and audience.reply_to is None
    followers: list[int] = []
    chunks: list[tuple[int, int]] = []
    if not pull_mode and follower_count > settings.FANOUT_LARGE_THRESHOLD:
        chunks = followers_read.follower_ranges(author_id=tweet.author_id, size=settings.FANOUT_CHUNK_SIZE)
        # One transaction: every chunk is queued, or none (and this task's retry queues them).
        with transaction.atomic():
            for after, upto in chunks:
                outbox.enqueue("timelines.tasks.fanout_chunk_task", tweet_id, after, upto)
    elif not pull_mode:
        reached += _push_to_followers(
            author_id=tweet.author_id, tweet_ids=[tweet_id], seen=followers, expected=follower_count, audience=audience
        )
    return Fanout(tweet=tweet, reached=reached, pull_mode=pull_mode, followers=followers, chunks=chunks)


def fanout_chunk(*, tweet_id: int, after: int, upto: int) -> Fanout | None:
    """One chunk of a large fan-out (fanout_tweet queued it): the tweet into the feeds of the
    author's followers with after < id <= upto (upto 0: no bound). Chunks of one tweet run in any
    order and side by side, and a chunk run twice (its worker died) pushes again harmlessly: a feed
    holding the id keeps one copy. None if the tweet or its author is gone meanwhile."""
    tweet = _tweet_to_fan_out(tweet_id)
    if tweet is None:
        return None
    followers: list[int] = []
    audience = followers_read.audience_of(author_id=tweet.author_id, reply_to_author_id=tweet.reply_to_author_id)
    reached = _push_to_followers(
        author_id=tweet.author_id, tweet_ids=[tweet_id], seen=followers, after=after, upto=upto, audience=audience
    )
    return Fanout(tweet=tweet, reached=reached, pull_mode=False, followers=followers, to_author=False)


def feed_push_own(*, tweet_id: int, author_id: int, broadcast: bool = True) -> None:
    """Put a new tweet into its author's own feed right after its commit (read-your-writes), so
    the author sees it however long the queue or a broker outage delays the fan-out, which pushes
    it again, harmlessly; and into the author's list, which exists only while readers merge the
    author (pull mode), so that their followers see it at once too. Best effort: without Redis the
    page is served from SQL anyway."""
    try:
        store.push(tweet_ids=[tweet_id], user_ids=[author_id])
        if broadcast:  # a reply to someone else never enters the author list (fanout_tweet)
            store.push(tweet_ids=[tweet_id], user_ids=[author_id], kind=store.Kind.AUTHOR)
    except redis.RedisError:
        logger.warning("could not put tweet %s into its author's feed", tweet_id, exc_info=True)


def _push_to_followers(
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


def retract_tweet(*, tweet_id: int, author_id: int) -> list[int]:
    """Remove a deleted tweet from every feed it may have reached (author and followers).

    Inactive followers are included: their feed may not have been swept yet. Readers also skip ids
    whose row is gone, so a retraction that runs late is invisible to them. Returns the users whose
    feeds were cleaned (those whose open pages should drop the tweet).
    """
    tweet_cards.forget(tweet_ids=[tweet_id])
    store.remove(tweet_ids=[tweet_id], user_ids=[author_id])
    store.remove(tweet_ids=[tweet_id], user_ids=[author_id], kind=store.Kind.AUTHOR)
    touched = [author_id]
    for batch in followers_read.follower_batches(author_id=author_id):
        store.remove(tweet_ids=[tweet_id], user_ids=batch)
        touched += batch
    return touched


def _about(account_id: int) -> Q:
    """The tweets whose place in a reader's timeline depends on their relation to one account: its
    own, and replies to it (the reply rule, mutes)."""
    return Q(author_id=account_id) | Q(reply_to_author_id=account_id)


def follow_backfill(*, follower_id: int, followee_id: int) -> None:
    """Merge what following (or unmuting) `followee_id` adds to the follower's timeline into their
    feed (if they have one): its tweets, and replies to it by accounts the follower follows.

    Only the newest TIMELINE_LENGTH are needed: older ones would fall below the floor anyway, and
    store.push ignores ids at or below it. A follow undone meanwhile makes this a no-op.
    """
    if not Follow.objects.filter(follower_id=follower_id, followee_id=followee_id).exists():
        return
    # Again here (the follow's commit did it too, best effort): this task is the durable path.
    feedstate.followed(follower_id=follower_id, followee_id=followee_id)
    recent, min_floor = _newest(Tweet.objects.timeline_of(follower_id).filter(_about(followee_id)))
    store.push(tweet_ids=recent, user_ids=[follower_id], min_floor=min_floor)


def _newest(tweets: QuerySet[Tweet]) -> tuple[list[int], int]:
    """The newest TIMELINE_LENGTH ids of a query, and the id of the next older one (0 if none): a
    feed taking only these must raise its floor to that id (store.push's min_floor)."""
    limit = settings.TIMELINE_LENGTH
    ids = list(tweets.order_by("-id").values_list("id", flat=True)[: limit + 1])
    return ids[:limit], (ids[limit] if len(ids) > limit else 0)


def _newest_tweets(*, author_id: int) -> tuple[list[int], int]:
    """The author's newest TIMELINE_LENGTH tweets that every follower gets (Tweet.broadcast: replies
    to others are pushed to their own audience when posted, whatever the author's mode)."""
    return _newest(Tweet.objects.filter(author_id=author_id).broadcast().visible())


def unfollow_cleanup(*, follower_id: int, followee_id: int) -> None:
    """Remove from the follower's feed what unfollowing (or muting, or blocking) `followee_id` took
    out of their timeline: its tweets, and replies to it by others.

    The feed holds at most TIMELINE_LENGTH + TIMELINE_TRIM_SLACK ids above its floor: they are read,
    and those about the account that the timeline query no longer takes are removed (one query). So
    a follow re-made, or a mute lifted, meanwhile removes nothing that belongs.
    """
    feed = store.page(user_id=follower_id, before=None, limit=settings.TIMELINE_LENGTH + settings.TIMELINE_TRIM_SLACK)
    if feed is not None and feed.ids:
        held = Tweet.objects.filter(id__in=feed.ids).filter(_about(followee_id))
        kept = Tweet.objects.timeline_of(follower_id).filter(id__in=feed.ids).values("id")
        gone = list(held.exclude(id__in=kept).values_list("id", flat=True))
        store.remove(tweet_ids=gone, user_ids=[follower_id])
    feedstate.cleaned(follower_id=follower_id, followee_id=followee_id)


def feed_rebuild(*, user_id: int) -> bool:
    """Build a user's feed from Postgres. Safe against concurrent fan-out (see store).

    The buffer opens BEFORE Postgres is read, so any tweet committed after that read is pushed
    into it (its fan-out runs after its commit) and merged in; any tweet committed before is in
    the read. Returns False if another rebuild for this user is already running, or if Redis lost
    this one's lock and buffer meanwhile (flushed, restarted): then no feed is written, and the
    next read asks for another rebuild.
    """
    token = store.begin_rebuild(user_id=user_id)
    if token is None:
        return False
    try:
        limit = settings.TIMELINE_LENGTH
        ids = list(Tweet.objects.timeline_of(user_id).order_by("-id").values_list("id", flat=True)[:limit])
        # Fewer than a full feed: the feed holds the whole timeline (floor 0). Otherwise it holds
        # everything from its oldest id up.
        floor = 0 if len(ids) < limit else ids[-1] - 1
        size = store.finish_rebuild(user_id=user_id, tweet_ids=ids, floor=floor, token=token)
    except BaseException:
        store.abandon_rebuild(user_id=user_id, token=token)
        raise
    return size is not None


def celebrity_demote(*, user_id: int) -> bool:
    """Finish a DEMOTING account's return to fan-out: backfill its recent tweets into the feeds of
    its active followers, then switch it to PUSH. Readers merge its tweets until the switch, so
    none is missing in between. Returns False if it was promoted again meanwhile."""
    recent, min_floor = _newest_tweets(author_id=user_id)
    # The audience of a broadcast tweet: every follower but those who muted the account.
    audience = followers_read.audience_of(author_id=user_id, reply_to_author_id=None)
    _push_to_followers(author_id=user_id, tweet_ids=recent, min_floor=min_floor, audience=audience)
    finished = fanout_mode_finish_demotion(user_id=user_id)
    if finished:
        feedstate.pull_version_bump()  # readers stop merging it
    return finished


def author_replies_restore(*, author_id: int) -> None:
    """After a suspension is lifted: push the account's recent replies to others back into their
    audiences' feeds (followers who also follow the person answered, or are that person).

    author_hide took the account's newest TIMELINE_LENGTH + TIMELINE_TRIM_SLACK tweets out of every
    feed, replies included. Its broadcast tweets come back by other paths (readers merge them from
    the author list; a push-mode account's demotion backfill pushes them), but a reply's audience
    is the overlap of two follower sets, which neither path knows. So the same window is pushed
    again, one push per person answered, with the window's lower edge as every touched feed's
    minimum floor: a feed built meanwhile then claims nothing older it would miss. Idempotent; a
    no-op while the account is suspended (author_hide may still be queued behind it)."""
    if not User.objects.filter(pk=author_id, is_active=True).exists():
        return
    window = settings.TIMELINE_LENGTH + settings.TIMELINE_TRIM_SLACK
    rows = list(
        Tweet.objects.filter(author_id=author_id).order_by("-id").values_list("id", "reply_to_author_id")[: window + 1]
    )
    min_floor = rows[window][0] if len(rows) > window else 0
    by_person: dict[int, list[int]] = {}
    for tweet_id, answered in rows[:window]:
        if answered is not None and answered != author_id:
            by_person.setdefault(answered, []).append(tweet_id)
    for answered, tweet_ids in by_person.items():
        audience = followers_read.audience_of(author_id=author_id, reply_to_author_id=answered)
        _push_to_followers(author_id=author_id, tweet_ids=tweet_ids, min_floor=min_floor, audience=audience)


def author_hide(*, author_id: int) -> None:
    """After an account's suspension committed: take its tweets out of every feed that may hold
    them (its own, its followers'), drop its author list and its cached author card, and make
    readers recompute their pull sets (a suspended celebrity is no longer merged).

    Readers never show its tweets even before this runs: the author card is gone, a refill reads
    Postgres, which leaves an inactive author's tweets out, and the page is then served from SQL
    (timelines.selectors). This task makes feeds exact again so the fast path serves them. Only the
    author's newest TIMELINE_LENGTH + TIMELINE_TRIM_SLACK ids can be in any feed (a feed holds every
    timeline tweet above its floor, and no more ids than that). Idempotent; a no-op if the
    suspension was lifted meanwhile (then the tweets belong in the feeds)."""
    if User.objects.filter(pk=author_id, is_active=True).exists():
        return
    author_cards.forget(user_ids=[author_id])
    limit = settings.TIMELINE_LENGTH + settings.TIMELINE_TRIM_SLACK
    ids = list(Tweet.objects.filter(author_id=author_id).order_by("-id").values_list("id", flat=True)[:limit])
    store.drop(user_ids=[author_id], kind=store.Kind.AUTHOR)
    feedstate.pull_version_bump()
    if ids:
        store.remove(tweet_ids=ids, user_ids=[author_id])
        for batch in followers_read.follower_batches(author_id=author_id):
            store.remove(tweet_ids=ids, user_ids=batch)


def drop_inactive_feeds(*, lookback_days: int = 3) -> int:
    """Drop the feeds of users whose last activity just left the ACTIVE_DAYS window.

    Feeds also expire by themselves (store.feed_ttl_ms); this sweep frees memory as soon as a user
    turns inactive. It looks back a few days past the cutoff so a missed run is caught up.
    """
    cutoff = _active_since()
    user_ids = list(
        User.objects.filter(
            Q(last_active__lt=cutoff, last_active__gte=cutoff - timedelta(days=lookback_days))
        ).values_list("id", flat=True)
    )
    for start in range(0, len(user_ids), settings.FANOUT_BATCH_SIZE):
        store.drop(user_ids=user_ids[start : start + settings.FANOUT_BATCH_SIZE])
    return len(user_ids)


def feeds_drop(*, user_ids: list[int]) -> None:
    """Remove feeds outright (deleted accounts): home feeds, author lists, and the accounts from
    every reader's pull set (a deleted celebrity must not be merged from a list any more)."""
    store.drop(user_ids=user_ids)
    store.drop(user_ids=user_ids, kind=store.Kind.AUTHOR)
    feedstate.pull_version_bump()


def author_lists_build_all() -> int:
    """Build the author list of every account readers merge (pull or demoting mode), for bulk loads
    (seed_data, benchmarks): otherwise every reader of a celebrity takes the plain path until a
    worker has built its list. Returns how many lists were written."""
    pull_mode = UserStats.objects.filter(fanout_mode__in=[FanoutMode.PULL, FanoutMode.DEMOTING])
    return sum(author_list_rebuild(author_id=author_id) for author_id in pull_mode.values_list("user_id", flat=True))


def author_list_rebuild(*, author_id: int) -> bool:
    """Build a pull-mode account's author list from Postgres (readers merge its tweets from it).
    Same protocol as feed_rebuild: the buffer catches tweets pushed while Postgres is read. False
    if another build runs, or Redis lost this one's lock meanwhile."""
    kind = store.Kind.AUTHOR
    token = store.begin_rebuild(user_id=author_id, kind=kind)
    if token is None:
        return False
    try:
        # The list holds every tweet of the author above `floor`: the next older one, or 0 for all.
        ids, floor = _newest_tweets(author_id=author_id)
        size = store.finish_rebuild(user_id=author_id, tweet_ids=ids, floor=floor, token=token, kind=kind)
    except BaseException:
        store.abandon_rebuild(user_id=author_id, token=token, kind=kind)
        raise
    return size is not None
