"""The home timeline read path: one Redis round trip for a warm page, no SQL.

A page is the newest `limit` tweets older than the cursor among:
  1. ids in the user's feed above its floor;
  2. below the floor, the plain SQL timeline query (only once the reader scrolls past the feed);
  3. tweets of followed accounts in pull mode (celebrities), merged at read time from their author
     lists (timelines.store), found through the reader's pull set (follows.feedstate);
each shown as a tweet card (tweets.cards: row, author card and rendered HTML, cached in Redis).

The fast path (timelines.store.home_page) gathers all of that in ONE script call, and the page is
served from it only when it is provably the exact answer:
  - every source that ran out at its floor did so below the page's last id;
  - the reader's pull set is current and every pull-mode followee's author list exists;
  - every card and author card was cached, and no tweet on the page is by an account the reader
    unfollowed whose ids the cleanup task has not removed yet (follows.feedstate tombstones).
Otherwise the page is computed the slow, plain way (SQL for what Redis cannot vouch for, cards
read or filled), and what was missing is repaired for the next read: a rebuild queued, the pull set
stored, cards written back. Either way a page equals the plain SQL answer (the property test).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import redis

from follows import feedstate
from timelines import store
from tweethub import paging
from tweets import cards as tweet_cards
from tweets import marks as tweet_marks
from tweets.cards import TweetCard
from tweets.models import Tweet
from tweets.selectors import LIST_VARIANT, TweetPage, cards_page, resolve_entries, tweet_list

logger = logging.getLogger(__name__)

HOME_VARIANT = LIST_VARIANT  # how the home page renders its cards (tweets.rendering.variant_of)


def _plain(user_id: int, before: int | None, limit: int) -> TweetPage:
    """The page as the plain SQL timeline query gives it."""
    return tweet_list(Tweet.objects.timeline_of(user_id), before=before, limit=limit)


def _pull_set(user_id: int, version: str | None) -> None:
    """Store the reader's pull-mode followees for the next page, under the version read before the
    query (a mode change committed meanwhile bumps past it). Best effort."""
    try:
        feedstate.pull_set_store(
            user_id=user_id,
            version=version if version is not None else feedstate.pull_version(),
            author_ids=feedstate.pull_authors_from_db(user_id),
        )
    except redis.RedisError:
        logger.warning("could not store the pull set of %s", user_id, exc_info=True)


def _fast(read: store.HomeRead, *, user_id: int, limit: int) -> tuple[list[TweetCard] | None, list[int]]:
    """The page from what the script gathered, or None when it cannot be vouched for. Also returns
    the ids found stale (by an unfollowed account, or deleted): the feed should drop them."""
    full = len(read.ids) == limit
    last = read.ids[-1] if full else 0
    # A source that gave fewer than `limit` ids ran out at its floor: beyond it lies Postgres.
    if read.taken < limit and read.floor > 0 and not (full and last > read.floor):
        return None, []
    for source in read.sources:
        if source.floor is None:
            return None, []
        if source.taken < limit and source.floor > 0 and not (full and last > source.floor):
            return None, []
    found, missing = tweet_cards.decode_gathered(read.ids, read.cards, read.card_authors, read.author_raws)
    if missing:
        filled = tweet_cards.load_from_db(missing)
        tweet_cards.save(list(filled.values()))
        found.update(filled)
    # Tombstones name accounts the reader unfollowed or muted (or a block removed): their tweets and
    # replies to them may still sit in the feed until the cleanup task ran (the reader's own stay).
    unfollowed = feedstate.active_tombstones(read.tombstones)
    stale = [
        tweet_id
        for tweet_id in read.ids
        if tweet_id not in found
        or found[tweet_id].author_id in unfollowed
        or (found[tweet_id].reply_to_author_id in unfollowed and found[tweet_id].author_id != user_id)
        or found[tweet_id].repost_of_author_id in unfollowed
    ]
    if stale:
        return None, stale
    # A repost whose original is gone or hidden (deleted, its author suspended) goes with it.
    items = resolve_entries([found[tweet_id] for tweet_id in read.ids])
    if len(items) < len(read.ids):
        kept = {item.entry for item in items}
        return None, [tweet_id for tweet_id in read.ids if tweet_id not in kept]
    return items, []


def _marks(read: tweet_marks.Read) -> tweet_marks.Known:
    """The reader's likes and bookmarks of the page, as the script read them; on a miss filled from
    Postgres (one query) for the next pages."""
    known = tweet_marks.decode(read)
    return known if known is not None else tweet_marks.fill(read)


def home_timeline(
    *,
    user_id: int,
    before: int | None,
    limit: int,
    on_missing_feed: Callable[[int], None] | None = None,
    on_stale_ids: Callable[[int, list[int]], None] | None = None,
    on_missing_list: Callable[[int], None] | None = None,
) -> TweetPage:
    """The user's home timeline page: own and followees' tweets, newest first, ids < `before`.

    `on_missing_feed(user_id)`: the user has no feed (the caller queues a rebuild).
    `on_stale_ids(user_id, ids)`: the feed held ids that no longer belong (a retraction or an
    unfollow cleanup has not run yet); the page is served from SQL and the caller may queue their
    removal. `on_missing_list(author_id)`: a pull-mode followee has no author list (queue its
    build). If Redis is unreachable the page is served from SQL: slower, never wrong, no error.
    """
    try:
        read = store.home_page(user_id=user_id, before=before, limit=limit, variant=HOME_VARIANT)
        if read is not None and not read.pull_current:
            _pull_set(user_id, read.pull_version)
            read = store.home_page(user_id=user_id, before=before, limit=limit, variant=HOME_VARIANT)
    except redis.RedisError:
        logger.warning("feed of %s unreadable, serving from SQL", user_id, exc_info=True)
        return _plain(user_id, before, limit)
    if read is None:
        if on_missing_feed is not None:
            on_missing_feed(user_id)
        return _plain(user_id, before, limit)
    if read.pull_current:
        items, stale = _fast(read, user_id=user_id, limit=limit)
        if items is not None:
            # The feed cannot tell whether an older tweet exists without another read: a full page
            # has a cursor (the next page may say "No older tweets").
            cursor = items[-1].entry if len(items) == limit else None
            return TweetPage(items=items, next_cursor=cursor, source="feed", marks=_marks(read.marks))
        if stale:
            # Rare (a task has yet to run): answer this page from SQL, exactly, and let the feed
            # be repaired.
            if on_stale_ids is not None:
                on_stale_ids(user_id, stale)
            return _plain(user_id, before, limit)
        if on_missing_list is not None:
            for source in read.sources:
                if source.floor is None:
                    on_missing_list(source.author_id)
    return _slow(user_id=user_id, before=before, limit=limit, on_stale_ids=on_stale_ids)


def _slow(
    *, user_id: int, before: int | None, limit: int, on_stale_ids: Callable[[int, list[int]], None] | None
) -> TweetPage:
    """The page the plain way, for what the fast path could not vouch for: the feed's ids, SQL below
    its floor, the pull-mode followees' tweets from SQL, and a check that every author is still
    followed. A few queries; only cold, deep or just-changed pages come here."""
    wanted = paging.fetch_size(limit)  # with the spare that says whether an older page exists
    feed = store.page(user_id=user_id, before=before, limit=wanted)
    if feed is None:
        return _plain(user_id, before, limit)
    candidates = list(feed.ids)
    source = "feed"
    if len(candidates) < wanted and feed.floor > 0:
        # Past the cached part: continue in Postgres at the floor, no gap, no duplicate.
        below = feed.floor + 1 if before is None else min(before, feed.floor + 1)
        continued = paging.newest_before(Tweet.objects.timeline_of(user_id), before=below)
        candidates += continued.values_list("id", flat=True)[: wanted - len(candidates)]
        source = "feed+sql"
    timeline = Tweet.objects.timeline_of(user_id)
    pulled = feedstate.pull_authors_from_db(user_id)
    if pulled:
        theirs = paging.newest_before(timeline.filter(author_id__in=pulled), before=before)
        candidates += theirs.values_list("id", flat=True)[:wanted]
    ordered = sorted(set(candidates), reverse=True)[:wanted]
    # The timeline rule itself decides (follows, the reply rule, mutes, suspensions): an id it does
    # not take counts as stale, like a deleted one.
    belongs = set(timeline.filter(id__in=ordered).values_list("id", flat=True))
    stale = [tweet_id for tweet_id in ordered if tweet_id not in belongs]
    if stale:
        # Rare (a task has yet to run): the candidates may then miss tweets that belong on this
        # page, so answer this one from SQL, exactly, and let the feed be repaired.
        if on_stale_ids is not None:
            on_stale_ids(user_id, stale)
        return _plain(user_id, before, limit)
    return cards_page(paging.cut(ordered, limit=limit, cursor=int), source=source)  # an id is its own cursor
