"""Tweet HTML for pages and live updates: what every reader sees the same is rendered once per tweet
and kept in the tweet's card in Redis (tweets.cards); the rest is filled in for each request.

Rendering the same 20 tweets through the template engine for every home page view was most of the
page's cost. A tweet's markup depends on
  - the tweet and its author (text, links, name, username, avatar): the same for every reader, and
    cached (templates/tweets/_tweet_shared.html, rendered WITHOUT a request, so it cannot reach the
    viewer, their session or their CSRF token even by mistake);
  - the clock ("5m", "5 minutes ago"): never cached, or it would go stale (static/js/ages.js also
    keeps it fresh in the browser);
  - the viewer (the owner's Pin/Unpin/Delete forms, carrying the viewer's CSRF token): never cached,
    rendered with the page's own context (tweets/_tweet_actions.html).
The shared template marks the places of the last two with <!--tweet:NAME--> markers; the cached value
is the rendered text cut at them. Markers cannot be forged: everything a user wrote is escaped, so a
'<' in the output only ever comes from the template.

Freshness without invalidation: an entry starts with a digest of everything it shows (the card's
stored row and author card texts, the variant, the template sources and RENDER_VERSION) and counts
only when that digest matches the card being shown. An author card replaced after a profile edit
(accounts.cards) makes every cached rendering of that author's tweets stale at once, and a stale
entry is simply overwritten. The entries live inside the card's hash (one per variant), so they are
read in the same round trip as the card and deleted with it.

Redis unavailable: cards come from Postgres and tweets are rendered uncached (slower, same HTML).
"""

from __future__ import annotations

import hashlib
import html
import re
from collections.abc import Callable, Sequence
from functools import cache

from django.conf import settings
from django.template.loader import get_template, render_to_string
from django.utils.safestring import SafeString, mark_safe

from tweets import cards as tweet_cards
from tweets.cards import TweetCard
from tweets.templatetags.tweet_text import tweet_age, tweet_age_long

SHARED_TEMPLATE = "tweets/_tweet_shared.html"
# Templates whose output is part of the cached HTML: editing one changes every digest.
_CACHED_SOURCES = (SHARED_TEMPLATE, "accounts/_avatar.html")
# Bump when Python code changes what the cached part looks like (tweet_text.linkify, tweets.parsing,
# URL patterns): template edits are noticed on their own, code edits are not.
RENDER_VERSION = 4
_MARKER = re.compile(r"<!--tweet:([a-z-]+)-->")
_MARKERS = frozenset({"age", "age-long", "actions"})
_DIGEST_LENGTH = 32  # hex characters at the start of a cached entry
# Between the parts of a cached entry (not JSON: splitting is far cheaper, for every tweet of every
# page). NUL never occurs in rendered HTML: tweets, names and usernames cannot hold it.
_SEPARATOR = "\x00"

# The viewer's controls under a tweet (HTML, "" for none): see tweets.templatetags.tweet_html.
Controls = Callable[[TweetCard], str]


def _markup_digest() -> bytes:
    sources = "\x00".join(get_template(name).template.source for name in _CACHED_SOURCES)  # type: ignore[attr-defined]
    return hashlib.blake2b(f"{RENDER_VERSION}\x00{sources}".encode(), digest_size=16).digest()


_cached_markup_digest = cache(_markup_digest)


def _markup_version() -> bytes:
    # Production loads templates once (cached loader); under DEBUG they may be edited while running.
    return _markup_digest() if settings.DEBUG else _cached_markup_digest()


def variant_of(*, detail: bool, pinned: bool) -> str:
    return ("detail" if detail else "list") + ("-pinned" if pinned else "")


def _digest(card: TweetCard, variant: str, markup: bytes) -> str:
    shown = f"{variant}\x00{card.id}\x00{card.author_id}\x00{card.row_raw}\x00{card.author.raw}"
    return hashlib.blake2b(markup + shown.encode(), digest_size=_DIGEST_LENGTH // 2).hexdigest()


def _render_shared(card: TweetCard, *, detail: bool, pinned_label: bool) -> tuple[str, ...]:
    """The shared template's output cut at its markers: text, marker name, text, ..., text."""
    rendered = render_to_string(SHARED_TEMPLATE, {"tweet": card, "detail": detail, "pinned_label": pinned_label})
    parts = tuple(_MARKER.split(rendered))
    unknown = set(parts[1::2]) - _MARKERS
    if unknown:
        raise ValueError(f"{SHARED_TEMPLATE} has unknown markers: {sorted(unknown)}")
    return parts


def _shared_parts(cards: Sequence[TweetCard], *, detail: bool, pinned_label: bool) -> list[tuple[str, ...]]:
    """Each card's shared part: from the entry the card was read with when its digest matches,
    else rendered now and written back with the card (one pipelined write for all of them)."""
    markup = _markup_version()
    result: list[tuple[str, ...]] = []
    fresh: dict[int, tuple[str, str]] = {}
    rendered: list[TweetCard] = []
    for card in cards:
        variant = variant_of(detail=detail, pinned=pinned_label and card.pinned)
        digest = _digest(card, variant, markup)
        entry = card.html
        if entry is not None and entry[:_DIGEST_LENGTH] == digest:
            result.append(tuple(entry[_DIGEST_LENGTH:].split(_SEPARATOR)))
            continue
        parts = _render_shared(card, detail=detail, pinned_label=pinned_label)
        fresh[card.id] = (variant, digest + _SEPARATOR.join(parts))
        rendered.append(card)
        result.append(parts)
    if rendered:
        tweet_cards.save(rendered, html=fresh)
    return result


def _assemble(card: TweetCard, parts: tuple[str, ...], controls: Controls | None) -> SafeString:
    out: list[str] = []
    for index, part in enumerate(parts):
        if index % 2 == 0:
            out.append(part)
        elif part == "age":
            out.append(html.escape(tweet_age(card.created_at)))
        elif part == "age-long":
            out.append(html.escape(tweet_age_long(card.created_at)))
        elif controls is not None:  # "actions"
            out.append(controls(card))
    return mark_safe("".join(out))  # noqa: S308 - template output, escaped values and template output


def render_tweets(
    cards: Sequence[TweetCard], *, detail: bool = False, pinned_label: bool = False, controls: Controls | None = None
) -> list[SafeString]:
    """The HTML of each tweet card (tweets/_tweet_shared.html filled in), in order. `detail`: the
    tweet's own page (full date, no relative time); `pinned_label`: say "Pinned" on a card marked
    pinned; `controls(card)`: the viewer's own HTML under a tweet (None: nobody's, e.g. a live update
    sent to many users). No queries and no Redis read (the cards carry their cached HTML); at most
    one pipelined write for the tweets rendered now."""
    if not cards:
        return []
    shared = _shared_parts(cards, detail=detail, pinned_label=pinned_label)
    return [_assemble(card, parts, controls) for card, parts in zip(cards, shared, strict=True)]


def render_tweet(
    card: TweetCard, *, detail: bool = False, pinned_label: bool = False, controls: Controls | None = None
) -> SafeString:
    return render_tweets([card], detail=detail, pinned_label=pinned_label, controls=controls)[0]
