"""Tweet cards: what a tweet in a list needs (row, author card, rendered HTML), cached in Redis.

    tc:<tweet id>   hash, for CARD_CACHE_SECONDS from its last write:
                      a          author id
                      r          "<created_at ISO 8601>\x00<reply>\x00<text>": the tweet's immutable
                                 fields (NUL never occurs in a tweet: tweet_create refuses it);
                                 <reply> is "" or "<in_reply_to>,<its author>,<root>,<username>",
                                 then for a repost "|r<original>,<its author>", for a quote "|q<quoted>"
                      n          "<replies>,<reposts>" so far (Tweet.reply_count, repost_count):
                                 deleted by the commit of a reply or a repost (or their undoing),
                                 refilled with the rest of the card by the next read that misses it
                      l          likes so far (Tweet.like_count): the same, deleted by a like's or
                                 unlike's commit (tweets.marks.changed)
                      h:<variant>  rendered shared HTML (tweets.rendering), versioned by a digest
    uc:<user id>    the author card (accounts.cards)

This module owns the tweet card key and its format, and `CARDS_LUA`, the Lua that gathers cards and
their authors for a list of ids inside one script: the home page's script (timelines.store) uses it
so that ids, rows, authors and HTML come back in ONE round trip; `cards_for` uses it for every other
list (profile, tag, search, a tweet's page, catch-up, the slow home path).

A card is a copy of Postgres, never the truth:
  - written through after the tweet's commit (`write`) and filled on a miss: all the missing cards
    of a page in ONE query, written back in one pipelined round trip;
  - a tweet's row never changes after it is posted (text, time, author), so a card is only ever
    deleted, never updated: after the delete commits (`forget`), and again by the retraction task;
  - which tweet is pinned is part of the AUTHOR card (one per author; pin and unpin drop it);
  - bounded by its TTL; with `maxmemory-policy volatile-lru` Redis may evict cards (and feeds) under
    memory pressure: a miss costs one query, never a wrong page.
The home timeline's fast path does not ask Postgres about a tweet whose card is cached: if the
`forget` after a delete failed, the deleted tweet can show until its retraction task (from the
outbox) removes it from every feed and deletes the card again.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import redis
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import OuterRef, Subquery

from accounts import cards as author_cards
from tweethub.redis import Role, feeds
from tweethub.redis import script as redis_script
from tweethub.rediskeys import KeyFamily
from tweets.models import Tweet

logger = logging.getLogger(__name__)

PREFIX = "tc:"
# On the feeds' Redis: the home page script reads cards in the same call as the feed.
REDIS_KEYS = (
    KeyFamily(
        key=f"{PREFIX}<tweet>",
        role=Role.FEEDS,
        holds=(
            'tweet card: author id, row ("<created_at>\\0<reply>[|r<original>,<author> or |q<quoted>]\\0<text>"), '
            '"<replies>,<reposts>" counts, like count, rendered HTML per variant with its digest; '
            "`CARD_CACHE_SECONDS` after its last write"
        ),
        rebuilt_by="filled from Postgres by the first page that misses it (one query for all the page's misses)",
        purge=True,
    ),
)
_ROW_FIELDS = (
    "id",
    "author_id",
    "text",
    "created_at",
    "author__id",
    "author__username",
    "author__name",
    "author__avatar",
    "in_reply_to",
    "conversation_root",
    "reply_to_author_id",
    "reply_count",
    "like_count",
    "repost_of",
    "repost_of_author_id",
    "quote_of",
    "repost_count",
)

# Gathers cards inside a script. Expects `card_ids` (a Lua array of id strings) and sets `cards`
# (per id: {author id, row, html} with false for what is missing), `card_authors` (distinct author
# ids, first-seen order) and `author_raws` (their cards, false when missing). Arguments come as Lua
# variables `card_prefix`, `author_prefix` and `html_field`, set by the script that includes this.
CARDS_LUA = """
local cards, card_authors, author_raws, seen = {}, {}, {}, {}
for i, id in ipairs(card_ids) do
  local card = redis.call('HMGET', card_prefix .. id, 'a', 'r', html_field, 'n', 'l')
  cards[i] = card
  local author = card[1]
  if author and not seen[author] then
    seen[author] = true
    card_authors[#card_authors + 1] = author
  end
end
if #card_authors > 0 then
  local keys = {}
  for i, author in ipairs(card_authors) do keys[i] = author_prefix .. author end
  author_raws = redis.call('MGET', unpack(keys))
end
"""

_CARDS = (
    "local card_prefix, author_prefix, html_field = ARGV[1], ARGV[2], ARGV[3]\n"
    "local card_ids = {}\n"
    "for i = 4, #ARGV do card_ids[#card_ids + 1] = ARGV[i] end\n"
    + CARDS_LUA
    + "return {cards, card_authors, author_raws}\n"
)


@dataclass(frozen=True, slots=True)
class AuthorCard:
    id: int
    username: str
    name: str
    avatar_url: str  # "" when the author has none
    pinned_id: int  # the author's pinned tweet, 0 for none
    raw: str  # the stored JSON: what rendered HTML is versioned by


@dataclass(frozen=True, slots=True)
class TweetCard:
    """A tweet as lists show it. `html` is the cached rendering for the variant asked for (None
    when absent), checked by tweets.rendering against the card's own digest before use."""

    id: int
    author_id: int
    text: str
    created_at: datetime
    author: AuthorCard
    row_raw: str
    html: str | None = None
    reply_count: int = 0
    like_count: int = 0
    # A reply's parent tweet (which may be deleted since), its author (id and username as of the
    # reply) and the conversation's first tweet; all None/"" for a tweet that starts one.
    in_reply_to: int | None = None
    reply_to_author_id: int | None = None
    reply_to_username: str = ""
    conversation_root: int | None = None
    # A repost's original (and its author); a quote post's quoted tweet. The card of a repost is
    # never shown itself: lists show the original's card with `reposted_by` (tweets.selectors).
    repost_of: int | None = None
    repost_of_author_id: int | None = None
    quote_of: int | None = None
    repost_count: int = 0
    # Set when a list shapes its entries (tweets.selectors.resolve_entries), never cached: who
    # reposted this original into the list, and the repost's id (the list's member and cursor);
    # for a quote, the quoted card (None with quote_of set: deleted, or hidden from the viewer).
    reposted_by: AuthorCard | None = None
    entry_id: int = 0
    quoted: TweetCard | None = None

    @property
    def pinned(self) -> bool:
        return self.author.pinned_id == self.id and self.reposted_by is None

    @property
    def is_repost(self) -> bool:
        return self.repost_of is not None

    @property
    def entry(self) -> int:
        """The id this card holds its place in a list by (the repost's, for a reposted original)."""
        return self.entry_id or self.id

    @property
    def is_reply(self) -> bool:
        return self.in_reply_to is not None


def key(tweet_id: int) -> str:
    return f"{PREFIX}{tweet_id}"


def html_field(variant: str) -> str:
    return f"h:{variant}"


def ttl_ms() -> int:
    return settings.CARD_CACHE_SECONDS * 1000


def encode_reply(tweet: Tweet, reply_to_username: str) -> str:
    if tweet.in_reply_to is None:
        return ""
    return f"{tweet.in_reply_to},{tweet.reply_to_author_id or 0},{tweet.conversation_root or 0},{reply_to_username}"


def encode_links(tweet: Tweet, reply_to_username: str) -> str:
    """The reply part, then what a repost or a quote points at (usernames never hold '|')."""
    links = encode_reply(tweet, reply_to_username)
    if tweet.repost_of is not None:
        links += f"|r{tweet.repost_of},{tweet.repost_of_author_id or 0}"
    elif tweet.quote_of is not None:
        links += f"|q{tweet.quote_of}"
    return links


def encode_row(tweet: Tweet, reply_to_username: str = "") -> str:
    # Not JSON: splitting at the first NULs is ~10x cheaper than json.loads, for every card of every
    # page. The time and the reply part come first and never hold a NUL, so any text splits back.
    return f"{tweet.created_at.isoformat()}\x00{encode_links(tweet, reply_to_username)}\x00{tweet.text}"


def _counts(raw: bytes | str) -> tuple[int, int]:
    replies, _, reposts = (raw.decode() if isinstance(raw, bytes) else raw).partition(",")
    return int(replies), int(reposts or 0)


def _reply_fields(links: str) -> dict[str, Any]:
    if not links:
        return {}
    reply, _, other = links.partition("|")
    fields: dict[str, Any] = {}
    if other.startswith("r"):
        original, original_author = other[1:].split(",", 1)
        fields = {"repost_of": int(original), "repost_of_author_id": int(original_author) or None}
    elif other.startswith("q"):
        fields = {"quote_of": int(other[1:])}
    if not reply:
        return fields
    parent, parent_author, root, username = reply.split(",", 3)
    return {
        **fields,
        "in_reply_to": int(parent),
        "reply_to_author_id": int(parent_author) or None,
        "conversation_root": int(root) or None,
        "reply_to_username": username,
    }


def decode_author(author_id: int, raw: str) -> AuthorCard:
    username, name, avatar_url, pinned_id = json.loads(raw)
    return AuthorCard(id=author_id, username=username, name=name, avatar_url=avatar_url, pinned_id=pinned_id, raw=raw)


# Decoded author cards by their stored bytes: the same authors fill every page, and a card's bytes
# are all it depends on. Bounded (cleared when full), per process.
_AUTHORS_KEPT = 4096
_authors: dict[bytes, AuthorCard] = {}


def _author(author_id: int, raw: bytes) -> AuthorCard | None:
    card = _authors.get(raw)
    if card is not None and card.id == author_id:
        return card
    try:
        card = decode_author(author_id, raw.decode())
    except ValueError:  # an older format: refilled like a miss
        return None
    if len(_authors) >= _AUTHORS_KEPT:
        _authors.clear()
    _authors[raw] = card
    return card


def decode_gathered(
    ids: Sequence[int], cards: Sequence[Sequence[Any]], card_authors: Sequence[Any], author_raws: Sequence[Any]
) -> tuple[dict[int, TweetCard], list[int]]:
    """Turn what CARDS_LUA gathered for `ids` (bytes, as the feeds client returns them) into cards;
    also returns the ids with something missing (tweet card or author card), to be filled from
    Postgres. Runs for every card of every page: kept lean on purpose."""
    authors: dict[bytes, AuthorCard] = {}
    for author, raw in zip(card_authors, author_raws, strict=True):
        if raw:
            card_author = _author(int(author), raw)
            if card_author is not None:
                authors[author] = card_author
    found: dict[int, TweetCard] = {}
    missing: list[int] = []
    for tweet_id, (author, row, html, replies, likes) in zip(ids, cards, strict=True):
        card_author = authors.get(author) if author else None
        if card_author is None or not row or replies is None or likes is None:
            missing.append(tweet_id)
            continue
        row_raw = row.decode()
        created_at, separator, rest = row_raw.partition("\x00")
        reply, separator, text = rest.partition("\x00")
        if not separator or b"," not in replies:  # an older format: refilled (and overwritten) like a miss
            missing.append(tweet_id)
            continue
        reply_count, repost_count = _counts(replies)
        found[tweet_id] = TweetCard(
            id=tweet_id,
            author_id=card_author.id,
            text=text,
            created_at=datetime.fromisoformat(created_at),
            author=card_author,
            row_raw=row_raw,
            html=html.decode() if html else None,
            reply_count=reply_count,
            repost_count=repost_count,
            like_count=int(likes),
            **_reply_fields(reply),
        )
    return found, missing


def load_from_db(ids: Sequence[int]) -> dict[int, TweetCard]:
    """Cards built from Postgres in ONE query (tweets with their authors, only the shown columns,
    and each author's pinned tweet). Ids of tweets that no longer exist, or whose author is
    suspended (inactive), are absent from the result: readers then drop them like deleted ones."""
    if not ids:
        return {}
    pinned = Tweet.objects.filter(author_id=OuterRef("author_id"), pinned=True).values("id")[:1]
    rows = (
        Tweet.objects.filter(id__in=list(ids), author__is_active=True)
        .select_related("author")
        .only(*_ROW_FIELDS)
        .annotate(
            author_pinned_id=Subquery(pinned),
            reply_to_username=Subquery(
                get_user_model().objects.filter(pk=OuterRef("reply_to_author_id")).values("username")[:1]
            ),
        )
    )
    result: dict[int, TweetCard] = {}
    for tweet in rows:
        raw = author_cards.encode(tweet.author, pinned_id=tweet.author_pinned_id)  # type: ignore[attr-defined]
        author = decode_author(tweet.author_id, raw)
        reply = encode_links(tweet, tweet.reply_to_username or "")  # type: ignore[attr-defined]
        result[tweet.pk] = TweetCard(
            id=tweet.pk,
            author_id=author.id,
            text=tweet.text,
            created_at=tweet.created_at,
            author=author,
            row_raw=encode_row(tweet, tweet.reply_to_username or ""),  # type: ignore[attr-defined]
            reply_count=tweet.reply_count,
            repost_count=tweet.repost_count,
            like_count=tweet.like_count,
            **_reply_fields(reply),
        )
    return result


def save(cards: Sequence[TweetCard], *, html: dict[int, tuple[str, str]] | None = None, authors: bool = True) -> None:
    """Write cards (and their authors' cards) in one pipelined round trip; `html` adds rendered
    entries {tweet id: (variant, entry)}. A card is always written whole with its TTL, so a key can
    never be left holding only HTML, or without an expiry. Best effort: Redis down costs a query
    on the next read, nothing else."""
    if not cards:
        return
    html = html or {}
    card_ttl, author_ttl = ttl_ms(), author_cards.ttl_ms()
    try:
        pipe = feeds().pipeline(transaction=False)
        written_authors: set[int] = set()
        for card in cards:
            counts = f"{card.reply_count},{card.repost_count}"
            mapping: dict[Any, Any] = {"a": card.author_id, "r": card.row_raw, "n": counts, "l": card.like_count}
            if card.id in html:
                variant, entry = html[card.id]
                mapping[html_field(variant)] = entry
            pipe.hset(key(card.id), mapping=mapping)
            pipe.pexpire(key(card.id), card_ttl)
            if authors and card.author_id not in written_authors:
                written_authors.add(card.author_id)
                pipe.set(author_cards.key(card.author_id), card.author.raw, px=author_ttl)
        pipe.execute()
    except redis.RedisError:
        logger.warning("could not cache %d tweet cards", len(cards), exc_info=True)


def cards_for(ids: Sequence[int], *, variant: str) -> dict[int, TweetCard]:
    """The cards of these tweets with their cached HTML for `variant`: ONE Redis round trip when
    all are cached; otherwise one query for all the missing ones and one pipelined write back.
    Ids of deleted tweets are absent from the result. Redis down: everything from Postgres."""
    if not ids:
        return {}
    try:
        script = redis_script(feeds(), _CARDS)
        cards, card_authors, author_raws = script(args=[PREFIX, author_cards.PREFIX, html_field(variant), *ids])
    except redis.RedisError:
        logger.warning("tweet cards unavailable, reading %d rows from Postgres", len(ids), exc_info=True)
        return load_from_db(ids)
    found, missing = decode_gathered(ids, cards, card_authors, author_raws)
    if missing:
        filled = load_from_db(missing)
        save(list(filled.values()))
        found.update(filled)
    return found


def write(tweet: Tweet, *, reply_to_username: str = "") -> None:
    """Write-through after a tweet's commit, so its first readers find its row cached (the author's
    card, which also names their pinned tweet, is filled by the first read that misses it). A
    reply also drops its parent's reply count (`replies_changed`), in the same round trip."""
    try:
        pipe = feeds().pipeline(transaction=False)
        row = encode_row(tweet, reply_to_username)
        pipe.hset(key(tweet.pk), mapping={"a": tweet.author_id, "r": row, "n": "0,0", "l": 0})
        pipe.pexpire(key(tweet.pk), ttl_ms())
        if tweet.in_reply_to is not None:
            pipe.hdel(key(tweet.in_reply_to), "n")
        pipe.execute()
    except redis.RedisError:
        logger.warning("could not cache the card of tweet %s", tweet.pk, exc_info=True)


def replies_changed(*, tweet_id: int) -> None:
    """A reply to this tweet was deleted after its commit: its cached count goes (the next read
    refills the card from Postgres). Dropping rather than counting in Redis: a card being refilled
    meanwhile would otherwise write back the count it read before the change, off by one for days."""
    try:
        feeds().hdel(key(tweet_id), "n")
    except redis.RedisError:
        logger.warning("could not drop the reply count of tweet %s", tweet_id, exc_info=True)


def likes_changed(*, tweet_ids: Sequence[int]) -> None:
    """Like counts changed outside a like (an account's deletion took its likes back): the cards'
    cached counts go, in one pipelined round trip. (A like's own commit drops its card's count in
    tweets.marks.changed, with the liker's marks.) Best effort."""
    if not tweet_ids:
        return
    try:
        pipe = feeds().pipeline(transaction=False)
        for tweet_id in tweet_ids:
            pipe.hdel(key(tweet_id), "l")
        pipe.execute()
    except redis.RedisError:
        logger.warning("could not drop the like counts of %d tweets", len(tweet_ids), exc_info=True)


def counts_changed(*, tweet_id: int) -> None:
    """Its repost count changed (a repost or its undoing committed): the count goes, as for replies."""
    replies_changed(tweet_id=tweet_id)


def forget(*, tweet_ids: Sequence[int]) -> None:
    """Drop deleted tweets' cards (their text must not outlive them in Redis). Best effort here;
    the retraction task calls it again from the outbox."""
    if not tweet_ids:
        return
    try:
        feeds().delete(*(key(tweet_id) for tweet_id in tweet_ids))
    except redis.RedisError:
        logger.warning("could not drop the cards of %s", list(tweet_ids), exc_info=True)
