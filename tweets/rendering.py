"""Tweet HTML for pages and live updates: what every reader sees the same is rendered once per tweet
and kept in Redis (Django's cache); the rest is filled in for each request.

Rendering the same 20 tweets through the template engine for every home page view was most of the
page's cost. A tweet's markup depends on
  - the tweet and its author (text, links, name, username, avatar): the same for every reader, and
    cached (templates/tweets/_tweet_shared.html, rendered WITHOUT a request, so it cannot reach the
    viewer, their session or their CSRF token even by mistake);
  - the clock ("5m", "5 minutes ago"): never cached, or it would go stale;
  - the viewer (the owner's Pin/Unpin/Delete forms, carrying the viewer's CSRF token): never cached,
    rendered with the page's own context (tweets/_tweet_actions.html).
The shared template marks the places of the last two with <!--tweet:NAME--> markers; the cached value
is the rendered text cut at them. Markers cannot be forged: everything a user wrote is escaped, so a
'<' in the output only ever comes from the template.

Freshness without invalidation: each entry stores a digest of everything it shows (tweet text and
time, the author's username, name and avatar, the variant, the template sources and RENDER_VERSION)
and counts only when the digest matches the row being shown. A renamed author or a new avatar is on
the very next page, whichever code changed the row (profile edits, the admin panel's purge, a shell),
and a stale entry is simply overwritten. One key per tweet and variant, so old versions do not pile
up. A deleted tweet never reaches rendering (hydration drops it); its entries are removed after the
delete commits anyway (`forget`), so its text does not outlive it in Redis.

Redis unavailable: tweets are rendered without the cache (slower, same HTML), and a warning logged.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable, Sequence
from functools import cache

import redis
from django.conf import settings
from django.core.cache import cache as django_cache
from django.template.loader import get_template, render_to_string
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from tweets.models import Tweet
from tweets.templatetags.tweet_text import tweet_age, tweet_age_long

logger = logging.getLogger(__name__)

SHARED_TEMPLATE = "tweets/_tweet_shared.html"
# Templates whose output is part of the cached HTML: editing one changes every digest.
_CACHED_SOURCES = (SHARED_TEMPLATE, "accounts/_avatar.html")
# Bump when Python code changes what the cached part looks like (tweet_text.linkify, tweets.parsing,
# URL patterns): template edits are noticed on their own, code edits are not.
RENDER_VERSION = 1
# Seconds a rendered tweet stays in Redis. Tweets are mostly read in their first hours; a later reader
# pays one render (~0.5 ms) and puts it back. Bounds the memory too (~1.5 KB a tweet).
CACHE_SECONDS = 24 * 3600
_MARKER = re.compile(r"<!--tweet:([a-z-]+)-->")
_MARKERS = frozenset({"age", "age-long", "actions"})

# The viewer's controls under a tweet (HTML, "" for none): see tweets.templatetags.tweet_html.
Controls = Callable[[Tweet], str]


def _markup_digest() -> bytes:
    sources = "\x00".join(get_template(name).template.source for name in _CACHED_SOURCES)  # type: ignore[attr-defined]
    return hashlib.blake2b(f"{RENDER_VERSION}\x00{sources}".encode(), digest_size=16).digest()


_cached_markup_digest = cache(_markup_digest)


def _markup_version() -> bytes:
    # Production loads templates once (cached loader); under DEBUG they may be edited while running.
    return _markup_digest() if settings.DEBUG else _cached_markup_digest()


def _variant(*, detail: bool, pinned: bool) -> str:
    return ("detail" if detail else "list") + ("-pinned" if pinned else "")


def _key(tweet_id: int, variant: str) -> str:
    return f"tweet-html:{tweet_id}:{variant}"


def _digest(tweet: Tweet, variant: str) -> str:
    author = tweet.author
    shown = repr(
        (variant, tweet.id, tweet.text, tweet.created_at.isoformat(), author.pk, author.username, author.name,
         author.avatar.name or "")
    )  # fmt: skip
    return hashlib.blake2b(_markup_version() + shown.encode(), digest_size=16).hexdigest()


def _render_shared(tweet: Tweet, *, detail: bool, pinned_label: bool) -> tuple[str, ...]:
    """The shared template's output cut at its markers: text, marker name, text, ..., text."""
    html = render_to_string(SHARED_TEMPLATE, {"tweet": tweet, "detail": detail, "pinned_label": pinned_label})
    parts = tuple(_MARKER.split(html))
    unknown = set(parts[1::2]) - _MARKERS
    if unknown:
        raise ValueError(f"{SHARED_TEMPLATE} has unknown markers: {sorted(unknown)}")
    return parts


def _shared_parts(tweets: Sequence[Tweet], *, detail: bool, pinned_label: bool) -> list[tuple[str, ...]]:
    """Each tweet's shared part: one cache read for all, one write for those rendered now."""
    wanted = []
    for tweet in tweets:
        variant = _variant(detail=detail, pinned=pinned_label and tweet.pinned)
        wanted.append((_key(tweet.id, variant), _digest(tweet, variant)))
    try:
        found = django_cache.get_many([key for key, _ in wanted])
        cache_up = True
    except redis.RedisError:
        logger.warning("tweet HTML cache unavailable, rendering %d tweets", len(tweets), exc_info=True)
        found, cache_up = {}, False
    result: list[tuple[str, ...]] = []
    fresh: dict[str, tuple[str, tuple[str, ...]]] = {}
    for tweet, (key, digest) in zip(tweets, wanted, strict=True):
        entry = found.get(key)
        if isinstance(entry, tuple) and len(entry) == 2 and entry[0] == digest:
            result.append(entry[1])
            continue
        parts = _render_shared(tweet, detail=detail, pinned_label=pinned_label)
        fresh[key] = (digest, parts)
        result.append(parts)
    if fresh and cache_up:
        try:
            django_cache.set_many(fresh, timeout=CACHE_SECONDS)
        except redis.RedisError:
            logger.warning("could not cache the HTML of %d tweets", len(fresh), exc_info=True)
    return result


def _assemble(tweet: Tweet, parts: tuple[str, ...], controls: Controls | None) -> SafeString:
    out: list[str] = []
    for index, part in enumerate(parts):
        if index % 2 == 0:
            out.append(part)
        elif part == "age":
            out.append(escape(tweet_age(tweet.created_at)))
        elif part == "age-long":
            out.append(escape(tweet_age_long(tweet.created_at)))
        elif controls is not None:  # "actions"
            out.append(controls(tweet))
    return mark_safe("".join(out))  # noqa: S308 - template output, escaped values and template output


def render_tweets(
    tweets: Sequence[Tweet], *, detail: bool = False, pinned_label: bool = False, controls: Controls | None = None
) -> list[SafeString]:
    """The HTML of each tweet (tweets/_tweet_shared.html filled in), in order. Tweets need their
    author loaded (select_related). `detail`: the tweet's own page (full date, no relative time);
    `pinned_label`: say "Pinned" on a pinned tweet; `controls(tweet)`: the viewer's own HTML under a
    tweet (None: nobody's, e.g. a live update sent to many users). No queries; at most one cache
    read and one cache write whatever the number of tweets."""
    if not tweets:
        return []
    shared = _shared_parts(tweets, detail=detail, pinned_label=pinned_label)
    return [_assemble(tweet, parts, controls) for tweet, parts in zip(tweets, shared, strict=True)]


def render_tweet(
    tweet: Tweet, *, detail: bool = False, pinned_label: bool = False, controls: Controls | None = None
) -> SafeString:
    return render_tweets([tweet], detail=detail, pinned_label=pinned_label, controls=controls)[0]


def forget(*, tweet_id: int) -> None:
    """Remove every cached rendering of a tweet (after it was deleted). Best effort: entries expire
    within CACHE_SECONDS anyway and are never shown for a tweet that no longer exists."""
    keys = [
        _key(tweet_id, _variant(detail=detail, pinned=pinned)) for detail in (False, True) for pinned in (False, True)
    ]
    try:
        django_cache.delete_many(keys)
    except redis.RedisError:
        logger.warning("could not drop the cached HTML of tweet %s", tweet_id, exc_info=True)
