"""Reads of tweets for lists and pages. Every list of tweets on the site (home, profile, tag,
search, a tweet's page, live catch-up) is a `TweetPage` (a tweethub.paging.Page) of cards from
`cards_page`: the ids are chosen by the list's own query (`tweet_list`, paged by
tweethub.paging.older_than) or the home feed, the rows come from the card cache (tweets.cards), so
every list renders the same data the same way with a constant number of queries and round trips."""

from __future__ import annotations

import time
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from django.db import connection
from django.db.models import Count, Exists, F, OuterRef, QuerySet

from follows.blocks import hidden_author_ids, hidden_related
from tweethub.ids import EPOCH_MS, SEQUENCE_BITS
from tweethub.paging import Page, cut, fetch_size, older_than
from tweets import cards as tweet_cards
from tweets.cards import TweetCard
from tweets.models import Bookmark, Like, Tweet

LIST_VARIANT = "list"  # how lists render their cards (tweets.rendering.variant_of)
DETAIL_VARIANT = "detail"
PINNED_VARIANT = "list-pinned"


@dataclass(frozen=True)
class TweetPage(Page[TweetCard, int]):
    """One page of any tweet list: the cards, newest first, and where the next page starts
    (?before=; None at the end)."""

    source: str = "sql"  # home only: "feed", "feed+sql" or "sql", how it was served (admin panel, tests)
    # Home only: the reader's likes and bookmarks of these cards, as the page's own Redis read
    # brought them (tweets.marks; None: not read, tweets.selectors.engagement_of asks Postgres).
    marks: Mapping[int, tuple[bool, bool]] | None = None


def cards_page(ids: Page[int, int], *, variant: str = LIST_VARIANT, source: str = "sql") -> TweetPage:
    """The cards of a page of tweet ids, in its order, with its cursor: the one place a list's rows
    are shaped. Ids of tweets deleted since they were read are skipped; the cursor still holds
    (the next page starts below the last id read, so no tweet is skipped)."""
    cards = tweet_cards.cards_for(ids.items, variant=variant)
    items = resolve_entries([cards[tweet_id] for tweet_id in ids.items if tweet_id in cards], variant=variant)
    return TweetPage(items=items, next_cursor=ids.next_cursor, source=source)


def resolve_entries(cards: list[TweetCard], *, variant: str = LIST_VARIANT) -> list[TweetCard]:
    """Shape a list's entries: a repost becomes its original's card saying who reposted it (and
    keeping the repost's id as `entry_id`, the list's member); a quote post gets the quoted card
    (None when deleted). A repost whose original is gone is dropped (it goes with it). ONE more
    card read for the whole list when it holds reposts or quotes (and one more when a reposted
    tweet is itself a quote): a constant number of round trips, whatever the number of cards."""
    wanted = {linked_id for card in cards if (linked_id := card.repost_of or card.quote_of) is not None}
    if not wanted:
        return cards
    linked = tweet_cards.cards_for(sorted(wanted), variant=variant)
    nested = {c.quote_of for c in linked.values() if c.quote_of is not None and c.quote_of not in linked}
    if nested:
        linked.update(tweet_cards.cards_for(sorted(nested), variant=variant))
    items: list[TweetCard] = []
    for card in cards:
        if card.repost_of is not None:
            original = linked.get(card.repost_of)
            if original is None:
                continue
            quoted = linked.get(original.quote_of) if original.quote_of else None
            items.append(replace(original, reposted_by=card.author, entry_id=card.id, quoted=quoted))
        elif card.quote_of is not None:
            items.append(replace(card, entry_id=card.id, quoted=linked.get(card.quote_of)))
        else:
            items.append(card)
    return items


def tweet_list(queryset: QuerySet[Tweet], *, before: int | None, limit: int) -> TweetPage:
    """A page of a tweet query, newest first, older than the cursor: one query for the ids (the
    query's index read backwards from the cursor), the rows from the card cache."""
    return cards_page(older_than(queryset.values_list("id", flat=True), before=before, limit=limit))


def tweet_card(tweet_id: int) -> TweetCard:
    """One tweet's card for its own page, its quoted tweet resolved; Tweet.DoesNotExist if absent.
    A repost's own id shows its original (resolve_entries)."""
    card = tweet_cards.cards_for([tweet_id], variant=DETAIL_VARIANT).get(tweet_id)
    resolved = resolve_entries([card], variant=DETAIL_VARIANT) if card is not None else []
    if not resolved:
        raise Tweet.DoesNotExist(f"no tweet {tweet_id}")
    return resolved[0]


def reposted_ids(*, user_id: int | None, tweet_ids: list[int]) -> frozenset[int]:
    """Which of these tweets `user_id` has reposted: one query (a tweet's own page)."""
    if user_id is None or not tweet_ids:
        return frozenset()
    mine = Tweet.objects.filter(author_id=user_id, repost_of__in=tweet_ids)
    return frozenset(tweet_id for tweet_id in mine.values_list("repost_of", flat=True) if tweet_id is not None)


def tweets_by_author(
    *,
    author_id: int,
    before: int | None,
    limit: int,
    leave_out: int | None = None,
    with_replies: bool = False,
    viewer_id: int | None = None,
) -> TweetPage:
    """An author's tweets, newest first, older than the cursor (index tweets_author_id_desc).
    `leave_out`: a tweet the page shows elsewhere (the pinned one, above the list). Without
    `with_replies` (the profile's "Tweets" tab) replies to others are left out; self-threads stay.
    For `viewer_id`, reposts of tweets by accounts hidden from them (blocked either way, muted)
    are left out in the same query (subqueries, not a filter per card)."""
    tweets = Tweet.objects.filter(author_id=author_id).visible()
    if viewer_id is not None:
        tweets = tweets.exclude(hidden_related("repost_of_author_id", viewer_id))
    if not with_replies:
        tweets = tweets.profile()
    if leave_out is not None:
        tweets = tweets.exclude(id=leave_out)
    return tweet_list(tweets, before=before, limit=limit)


def pinned_tweet(*, author_id: int) -> TweetCard | None:
    tweet_id = Tweet.objects.filter(author_id=author_id, pinned=True).visible().values_list("id", flat=True).first()
    if tweet_id is None:
        return None
    return tweet_cards.cards_for([tweet_id], variant=PINNED_VARIANT).get(tweet_id)


def tweets_with_tag(*, tag: str, before: int | None, limit: int) -> TweetPage:
    """Tweets carrying #tag in any capitalisation, newest first; uses the GIN index on tags.
    Tags are stored lower-cased in NFC (tweets.parsing), so the lookup is normalised the same way."""
    canonical = unicodedata.normalize("NFC", tag.lower())
    return tweet_list(Tweet.objects.filter(tags__contains=[canonical]).visible(), before=before, limit=limit)


def explore_tweets(*, before: int | None, limit: int) -> TweetPage:
    """Everyone's tweets, newest first, older than the cursor: the landing page's "Explore" list
    (every tweet is public). One query for the ids, reading the primary key backwards, whatever the
    table's size; the rows come from the card cache."""
    return tweet_list(Tweet.objects.filter(repost_of__isnull=True).visible(), before=before, limit=limit)


def tweets_per_hour(*, hours: int = 24) -> list[tuple[int, int]]:
    """(hour start as a unix timestamp, tweets posted in it) for the last `hours` hours, the
    current one included, oldest first. Tweets deleted since are not counted.

    One grouped query that reads the primary key only: a tweet id starts with its creation time
    in milliseconds (tweethub.ids), so the last hours are one range of the primary-key index, and
    each id's hour is arithmetic on it, not a look at created_at in every row."""
    current = int(time.time() // 3600)
    first = current - hours + 1
    ms_per_hour = 3_600_000
    hour_of_id = (F("id") / (1 << SEQUENCE_BITS) + EPOCH_MS) / ms_per_hour  # integer division in SQL
    rows = (
        Tweet.objects.filter(id__gte=(first * ms_per_hour - EPOCH_MS) << SEQUENCE_BITS)
        .annotate(hour=hour_of_id)
        .values("hour")
        .annotate(tweets=Count("*"))
        .order_by()
        .values_list("hour", "tweets")
    )
    counts = dict(rows)
    return [(hour * 3600, counts.get(hour, 0)) for hour in range(first, current + 1)]


# How many tweets above a reply its page shows at most (a longer chain starts with a link up).
ANCESTORS_SHOWN = 30


@dataclass(frozen=True)
class ThreadItem:
    """One place in a thread: a tweet's card, or None for a tweet deleted since (its id stays known
    through its replies: the page says "This tweet was deleted")."""

    tweet_id: int
    card: TweetCard | None


def ancestors(card: TweetCard) -> list[ThreadItem]:
    """The tweets a reply answers, the conversation's first one first, up to ANCESTORS_SHOWN: ONE
    recursive query walking `in_reply_to` up while the rows exist, then the cards (one cache read).
    A deleted tweet stops the walk (its parent went with its row): it shows as a placeholder, with
    the conversation's root above it when that still exists."""
    if card.in_reply_to is None:
        return []
    sql = f"""
        WITH RECURSIVE chain(id, parent, depth) AS (
            SELECT id, in_reply_to, 1 FROM {Tweet._meta.db_table} WHERE id = %s
            UNION ALL
            SELECT t.id, t.in_reply_to, c.depth + 1 FROM {Tweet._meta.db_table} t
            JOIN chain c ON t.id = c.parent WHERE c.depth < %s
        )
        SELECT id, parent FROM chain ORDER BY depth
    """  # noqa: S608 (table name from the model, values bound)
    with connection.cursor() as cursor:
        cursor.execute(sql, [card.in_reply_to, ANCESTORS_SHOWN])
        rows = cursor.fetchall()
    chain = [tweet_id for tweet_id, _ in rows]
    last_parent = rows[-1][1] if rows else card.in_reply_to
    if not rows:
        chain = [card.in_reply_to]  # the parent itself is gone
    elif last_parent is not None and len(rows) < ANCESTORS_SHOWN:
        chain.append(last_parent)  # the walk stopped at a deleted tweet
    root = card.conversation_root
    if root is not None and root not in chain and len(chain) < ANCESTORS_SHOWN:
        chain.append(root)
    cards = tweet_cards.cards_for(chain, variant=LIST_VARIANT)
    return [ThreadItem(tweet_id=tweet_id, card=cards.get(tweet_id)) for tweet_id in reversed(chain)]


def replies_page(*, tweet_id: int, after: int | None, limit: int, hidden: frozenset[int]) -> TweetPage:
    """A tweet's replies, OLDEST first (a conversation reads down), newer than the cursor `after`
    (index tweets_replies_oldest), replies by `hidden` accounts (the viewer's blocks and mutes,
    follows.blocks.hidden_author_ids) left out. One query for the ids, the rows from the card cache."""
    replies = Tweet.objects.filter(in_reply_to=tweet_id).visible()
    if hidden:
        replies = replies.exclude(author_id__in=hidden)
    if after is not None:
        replies = replies.filter(id__gt=after)
    ids = list(replies.order_by("id").values_list("id", flat=True)[: fetch_size(limit)])
    return cards_page(cut(ids, limit=limit, cursor=int))


def has_replies(tweet_id: int) -> bool:
    return Tweet.objects.filter(in_reply_to=tweet_id).exists()


# Likes and bookmarks (issue 21) -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Engagement:
    """What a tweet card shows of likes and bookmarks, for one viewer."""

    likes: int
    liked: bool = False
    bookmarked: bool = False


def engagement_of(
    *, viewer_id: int | None, cards: Sequence[TweetCard], known: Mapping[int, tuple[bool, bool]] | None = None
) -> dict[int, Engagement]:
    """Like counts (from the cards: tweets.cards keeps Tweet.like_count, dropped by every like's
    commit) and, for a member, whether they liked or bookmarked each tweet: from `known` (their
    marks as the home page's script read them, tweets.marks) where it says, else ONE query for the
    rest of the list. No query for a visitor, nor when `known` covers every card."""
    likes = {card.id: card.like_count for card in cards}
    if viewer_id is None:
        return {tweet_id: Engagement(likes=count) for tweet_id, count in likes.items()}
    known = known or {}
    unknown = [tweet_id for tweet_id in likes if tweet_id not in known]
    flags = dict(known)
    if unknown:
        flagged = (
            Tweet.objects.filter(id__in=unknown)
            .annotate(
                liked=Exists(Like.objects.filter(user_id=viewer_id, tweet_id=OuterRef("id"))),
                bookmarked=Exists(Bookmark.objects.filter(user_id=viewer_id, tweet_id=OuterRef("id"))),
            )
            .values_list("id", "liked", "bookmarked")
        )
        flags.update({int(tweet_id): (bool(liked), bool(marked)) for tweet_id, liked, marked in flagged})
    result: dict[int, Engagement] = {}
    for tweet_id, count in likes.items():
        liked, marked = flags.get(tweet_id, (False, False))
        result[tweet_id] = Engagement(likes=count, liked=liked, bookmarked=marked)
    return result


def _marked_tweets(rows: QuerySet[Any], *, before: int | None, limit: int, viewer_id: int | None = None) -> TweetPage:
    """A page of likes or bookmarks (newest first, ?before=<their id>) as tweet cards: one query
    for the ids, the rows from the card cache. Hidden tweets (suspended authors, and for
    `viewer_id` the accounts hidden from them: follows.blocks.hidden_related) are left out."""
    tweets = Tweet.objects.visible()
    if viewer_id is not None:
        tweets = tweets.exclude(hidden_related("author_id", viewer_id))
    visible = rows.filter(tweet_id__in=tweets.values("id")).only("id", "tweet_id")
    page = older_than(visible, before=before, limit=limit)
    return cards_page(Page(items=[row.tweet_id for row in page.items], next_cursor=page.next_cursor))


def liked_tweets(*, user_id: int, before: int | None, limit: int, viewer_id: int | None = None) -> TweetPage:
    """A profile's Likes tab: the tweets the person liked, most recently liked first (likes are
    public, as on Twitter until 2024); for `viewer_id`, none by an account hidden from them (a
    liked tweet on someone else's profile is shown like a repost)."""
    return _marked_tweets(Like.objects.filter(user_id=user_id), before=before, limit=limit, viewer_id=viewer_id)


def bookmarked_tweets(*, user_id: int, before: int | None, limit: int) -> TweetPage:
    """The member's own bookmarks, most recent first. Callers pass the viewer's own id only."""
    return _marked_tweets(Bookmark.objects.filter(user_id=user_id), before=before, limit=limit)


@dataclass(frozen=True)
class Thread:
    """What a tweet's page shows, and the API's GET /tweets/{id}/thread: the tweet (None when it was
    deleted but keeps its page for its replies), the tweets it answers (first page only), one page
    of its replies, and the accounts hidden from the viewer (blocks either way, mutes)."""

    tweet_id: int
    tweet: TweetCard | None
    ancestors: list[ThreadItem]
    replies: TweetPage
    hidden: frozenset[int]


def thread(
    *, tweet_id: int, viewer_id: int | None, after: int | None, limit: int, keep_missing: bool = False
) -> Thread:
    """A tweet's thread for `viewer_id` (None: a visitor), replies OLDEST first after the cursor
    `after` (a reply id; None for the first page, the only one with the ancestors). A deleted tweet
    with replies is a placeholder over them; without replies it raises Tweet.DoesNotExist, unless
    `keep_missing` (the page answering a just-refused reply shows the placeholder anyway). The one
    place the rule lives: the page and the API both read it here."""
    try:
        tweet: TweetCard | None = tweet_card(tweet_id)
    except Tweet.DoesNotExist:
        if not keep_missing and not has_replies(tweet_id):
            raise
        tweet = None
    hidden = hidden_author_ids(viewer_id)
    return Thread(
        tweet_id=tweet_id,
        tweet=tweet,
        ancestors=ancestors(tweet) if tweet is not None and after is None else [],
        replies=replies_page(tweet_id=tweet_id, after=after, limit=limit, hidden=hidden),
        hidden=hidden,
    )
