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

@mentions link only to accounts that exist (active ones: others' profiles are 404 pages); a mention
of any other name stays plain text. Which names exist is asked of Postgres once for all the tweets
a call renders (one query, none when every tweet came from the cache or mentions nobody), and is
not part of the digest: knowing it for a cached entry would cost that query on every page, warm
ones included. Instead an entry of a tweet whose text holds an '@' is used for
mentions_checked_seconds() (AUTHOR_CARD_SECONDS, an hour by default) after it was rendered, then
rendered again: an account created, deleted, suspended or restored since gets its mentions linked or
unlinked within that time. (A card's TTL is no such bound: every refill of a card after its author
card expired extends it, cached HTML included.)

Redis unavailable: cards come from Postgres and tweets are rendered uncached (slower, same HTML).
"""

from __future__ import annotations

import hashlib
import html
import re
import time
from collections.abc import Callable, Sequence
from functools import cache

from django.conf import settings
from django.template.loader import get_template, render_to_string
from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe

from follows.blocks import mentionable
from tweethub.usernames import USERNAME_REGEX
from tweets import cards as tweet_cards
from tweets.cards import TweetCard
from tweets.text import linkify, tweet_age, tweet_age_long

SHARED_TEMPLATE = "tweets/_tweet_shared.html"
# Templates whose output is part of the cached HTML: editing one changes every digest.
_CACHED_SOURCES = (SHARED_TEMPLATE, "accounts/_avatar.html")
# Bump when Python code changes what the cached part looks like (tweet_text.linkify, tweets.parsing,
# URL patterns): template edits are noticed on their own, code edits are not.
RENDER_VERSION = 6  # 6: replies ("Replying to", the reply count); no links to a blocked account
_MARKER = re.compile(r"<!--tweet:([a-z-]+)-->")
_MARKERS = frozenset({"age", "age-long", "actions", "replies", "reposts", "entry", "reposted", "quote"})
_DIGEST_LENGTH = 32  # hex characters at the start of a cached entry
_STAMP_LENGTH = 8  # then when it was rendered: Unix seconds, 8 hex characters (until 2106)
_PARTS_START = _DIGEST_LENGTH + _STAMP_LENGTH
# linkify's mention link, which links every mention (the messages' text keeps that). The only links
# of this form in a tweet's text HTML: everything the user wrote is escaped, so none can be forged
# (the argument that makes the markers safe).
_MENTION_LINK = re.compile(f'<a class="tweet-mention" href="[^"]*">(@({USERNAME_REGEX}))</a>')
# Between the parts of a cached entry (not JSON: splitting is far cheaper, for every tweet of every
# page). NUL never occurs in rendered HTML: tweets, names and usernames cannot hold it.
_SEPARATOR = "\x00"

# The viewer's controls under a tweet (HTML, "" for none): see tweets.templatetags.tweet_html.
Controls = Callable[[TweetCard], str]

# Under everyone else's tweets, for members: a flag linking to the report form (moderation).
# Formatted, not a template render: it is under almost every tweet of every page. Only an int goes in.
_REPORT_CONTROL = (
    '<footer class="tweet-actions tweet-actions-other"><a class="tweet-action tweet-report" rel="nofollow" '
    'href="{url}" title="Report this tweet"><svg aria-hidden="true" viewBox="0 0 16 16" width="14" height="14">'
    '<path d="M3.5 14.5V2m0 .5h8l-1.6 3 1.6 3h-8" fill="none" stroke="currentColor" stroke-width="1.3" '
    'stroke-linejoin="round" stroke-linecap="round"/></svg><span class="visually-hidden">Report this tweet</span>'
    "</a></footer>"
)


_SHARE_CONTROLS = (
    '<div class="tweet-share">'
    '<a class="tweet-action tweet-repost{undo_class}" rel="nofollow" href="{repost}">'
    '<svg aria-hidden="true" viewBox="0 0 16 16" width="16" height="16">'
    '<path d="M4 6.5V4.5h7.5l-2-2M12 9.5v2H4.5l2 2" '
    'fill="none" stroke="currentColor" stroke-width="1.3" stroke-linecap="round" stroke-linejoin="round"/></svg>'
    "{label}</a>"
    '<a class="tweet-action tweet-quote-link" rel="nofollow" href="{quote}"><svg aria-hidden="true" '
    'viewBox="0 0 16 16" width="16" height="16"><path d="M3 3.5h10v9H3zM5.5 6.5h5M5.5 9h3" fill="none" '
    'stroke="currentColor" stroke-width="1.3" stroke-linecap="round" stroke-linejoin="round"/></svg>Quote</a></div>'
)


@cache
def _share_url_patterns() -> tuple[str, str, str]:
    return tuple(  # type: ignore[return-value]
        reverse(f"tweets:{name}", args=[0]).removesuffix(f"0/{name}/") + "{id}/" + f"{name}/"
        for name in ("repost", "unrepost", "quote")
    )


def share_controls(card: TweetCard, *, undo: bool = False) -> str:
    """Repost (or "Undo repost" under the viewer's own repost) and Quote under a tweet, for members.
    Links to small pages that ask first (tweets.repost_views), so they carry no CSRF token and a
    live update sends the same HTML to every follower. Formatted, not a template render: it is
    under every tweet of every page. Only ints go in."""
    repost, unrepost, quote = _share_url_patterns()
    return _SHARE_CONTROLS.format(
        repost=(unrepost if undo else repost).format(id=int(card.id)),
        undo_class=" tweet-repost-undo" if undo else "",
        label="Undo repost" if undo else "Repost",
        quote=quote.format(id=int(card.id)),
    )


def member_controls(card: TweetCard) -> str:
    """What every member sees under someone else's tweet: Repost, Quote and the report flag (live
    updates and catch-up, which are rendered once for many readers)."""
    return share_controls(card) + report_control(card)


@cache
def _report_url_pattern() -> str:
    return reverse("moderation:report", args=["tweet", 0]).removesuffix("0/") + "{id}/"


def report_control(card: TweetCard) -> str:
    """The controls of a member who is not the tweet's author: the report flag."""
    return _REPORT_CONTROL.format(url=_report_url_pattern().format(id=int(card.id)))


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


def mentions_checked_seconds() -> int:
    """How long a rendering of a tweet that may mention someone is used: the bound on a mention
    linked to an account that is gone, or left plain after the account was made. The same as for
    an author card changed without its service (AUTHOR_CARD_SECONDS): facts about accounts that a
    tweet shows, refreshed on the same clock."""
    return int(settings.AUTHOR_CARD_SECONDS)


def _text_html(linked: str, existing: frozenset[str]) -> SafeString:
    """linkify's HTML of a tweet's text with the links to accounts not in `existing` made plain
    text again (the name as written: '@' and letters, digits or '_', which need no escaping)."""
    text = _MENTION_LINK.sub(lambda m: m.group(0) if m.group(2).lower() in existing else m.group(1), linked)
    return mark_safe(text)  # noqa: S308 - linkify's escaped output, less some of its own <a> tags


def _render_shared(card: TweetCard, text_html: SafeString, *, detail: bool, pinned_label: bool) -> tuple[str, ...]:
    """The shared template's output cut at its markers: text, marker name, text, ..., text."""
    context = {"tweet": card, "text_html": text_html, "detail": detail, "pinned_label": pinned_label}
    rendered = render_to_string(SHARED_TEMPLATE, context)
    parts = tuple(_MARKER.split(rendered))
    unknown = set(parts[1::2]) - _MARKERS
    if unknown:
        raise ValueError(f"{SHARED_TEMPLATE} has unknown markers: {sorted(unknown)}")
    return parts


def _shared_parts(cards: Sequence[TweetCard], *, detail: bool, pinned_label: bool) -> list[tuple[str, ...]]:
    """Each card's shared part: from the entry the card was read with when its digest matches (and,
    for a text with an '@', it is younger than mentions_checked_seconds()), else rendered now and
    written back with the card (one pipelined write for all of them). The tweets rendered now cost
    one query together when they mention anyone: which of the mentioned accounts exist."""
    markup = _markup_version()
    now = int(time.time())
    oldest = now - mentions_checked_seconds()
    result: list[tuple[str, ...] | None] = []
    to_render: list[tuple[int, TweetCard, str, str]] = []  # (position, card, variant, digest)
    for card in cards:
        variant = variant_of(detail=detail, pinned=pinned_label and card.pinned)
        digest = _digest(card, variant, markup)
        entry = card.html
        if (
            entry is not None
            and entry[:_DIGEST_LENGTH] == digest
            and ("@" not in card.text or int(entry[_DIGEST_LENGTH:_PARTS_START], 16) > oldest)
        ):
            result.append(tuple(entry[_PARTS_START:].split(_SEPARATOR)))
            continue
        to_render.append((len(result), card, variant, digest))
        result.append(None)
    if to_render:
        linked = [linkify(card.text) for _, card, _, _ in to_render]
        mentioned = {match.group(2).lower() for text in linked for match in _MENTION_LINK.finditer(text)}
        # Which mentioned accounts exist, and which of them have a block with the tweet's author
        # (that mention stays plain text): one query.
        found = mentionable({card.author_id for _, card, _, _ in to_render}, mentioned)
        stamp = f"{now:0{_STAMP_LENGTH}x}"
        fresh: dict[int, tuple[str, str]] = {}
        for (position, card, variant, digest), text in zip(to_render, linked, strict=True):
            existing = frozenset(name for name, blocked in found.items() if card.author_id not in blocked)
            parts = _render_shared(card, _text_html(text, existing), detail=detail, pinned_label=pinned_label)
            fresh[card.id] = (variant, digest + stamp + _SEPARATOR.join(parts))
            result[position] = parts
        tweet_cards.save([card for _, card, _, _ in to_render], html=fresh)
    return [parts for parts in result if parts is not None]


_REPOSTED = (
    '<p class="tweet-reposted"><svg aria-hidden="true" viewBox="0 0 16 16" width="14" height="14"><path '
    'd="M4 6.5V4.5h7.5l-2-2M12 9.5v2H4.5l2 2" fill="none" stroke="currentColor" stroke-width="1.3" '
    'stroke-linecap="round" stroke-linejoin="round"/></svg> <a href="{url}">{name}</a> reposted</p>'
)
_QUOTE_DELETED = '<div class="tweet-quote tweet-quote-gone"><p>This tweet was deleted.</p></div>'
# A quoted tweet by an account hidden from the viewer (blocked either way, muted): said, not shown.
_QUOTE_UNAVAILABLE = '<div class="tweet-quote tweet-quote-gone"><p>This tweet is unavailable.</p></div>'
_QUOTE_LINK = '<div class="tweet-quote tweet-quote-gone"><p><a href="{url}">Quoted tweet</a></p></div>'


def _reposted_line(card: TweetCard) -> str:
    """ "Ana reposted" above a reposted tweet: per request (the reposter is not part of the original's
    cached HTML, which every list shares)."""
    if card.reposted_by is None:
        return ""
    url = reverse("profile", args=[card.reposted_by.username])
    return _REPOSTED.format(url=html.escape(url), name=html.escape(card.reposted_by.name or card.reposted_by.username))


def _quote(card: TweetCard, quotes: dict[int, str], hidden: frozenset[int]) -> str:
    """The quoted tweet's card (rendered with the list, no controls), "This tweet is unavailable"
    when its author is hidden from the viewer, "This tweet was deleted" when it is gone, or a link
    when it was not resolved (a quote inside a quote)."""
    if card.quote_of is None:
        return ""
    if card.quoted is not None and card.quoted.author_id in hidden:
        return _QUOTE_UNAVAILABLE
    if card.quote_of in quotes:
        return f'<div class="tweet-quote">{quotes[card.quote_of]}</div>'
    if card.entry_id:  # resolved (tweets.selectors.resolve_entries) and not found: deleted
        return _QUOTE_DELETED
    return _QUOTE_LINK.format(url=html.escape(reverse("tweets:detail", args=[card.quote_of])))


def _assemble(
    card: TweetCard,
    parts: tuple[str, ...],
    controls: Controls | None,
    quotes: dict[int, str] | None = None,
    hidden: frozenset[int] = frozenset(),
) -> SafeString:
    out: list[str] = []
    for index, part in enumerate(parts):
        if index % 2 == 0:
            out.append(part)
        elif part == "age":
            out.append(html.escape(tweet_age(card.created_at)))
        elif part == "age-long":
            out.append(html.escape(tweet_age_long(card.created_at)))
        elif part == "replies":  # changes with every reply: never part of the cached HTML
            out.append(str(int(card.reply_count)) if card.reply_count else "")
        elif part == "reposts":
            out.append(str(int(card.repost_count)) if card.repost_count else "")
        elif part == "entry":
            out.append(str(int(card.entry)))
        elif part == "reposted":
            out.append(_reposted_line(card))
        elif part == "quote":
            out.append(_quote(card, quotes or {}, hidden))
        elif controls is not None:  # "actions"
            out.append(controls(card))
    return mark_safe("".join(out))  # noqa: S308 - template output, escaped values and template output


def render_tweets(
    cards: Sequence[TweetCard],
    *,
    detail: bool = False,
    pinned_label: bool = False,
    controls: Controls | None = None,
    hidden: frozenset[int] = frozenset(),
) -> list[SafeString]:
    """The HTML of each tweet card (tweets/_tweet_shared.html filled in), in order. `detail`: the
    tweet's own page (full date, no relative time); `pinned_label`: say "Pinned" on a card marked
    pinned; `controls(card)`: the viewer's own HTML under a tweet (None: nobody's, e.g. a live update
    sent to many users). No queries and no Redis read when every card carries its cached HTML; for
    the tweets rendered now, at most one query (which mentioned accounts exist) and one pipelined
    write. `hidden`: the accounts hidden from the viewer (follows.blocks.hidden_author_ids): a quote
    of their tweet says "This tweet is unavailable" instead of embedding it."""
    if not cards:
        return []
    quoted = list(
        {c.quoted.id: c.quoted for c in cards if c.quoted is not None and c.quoted.author_id not in hidden}.values()
    )
    quotes: dict[int, str] = {}
    if quoted:  # rendered with the list: one more shared-parts pass, no controls
        embedded = _shared_parts(quoted, detail=False, pinned_label=False)
        quotes = {card.id: _assemble(card, parts, None) for card, parts in zip(quoted, embedded, strict=True)}
    shared = _shared_parts(cards, detail=detail, pinned_label=pinned_label)
    return [_assemble(card, parts, controls, quotes, hidden) for card, parts in zip(cards, shared, strict=True)]


def render_tweet(
    card: TweetCard, *, detail: bool = False, pinned_label: bool = False, controls: Controls | None = None
) -> SafeString:
    return render_tweets([card], detail=detail, pinned_label=pinned_label, controls=controls)[0]
