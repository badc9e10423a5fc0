"""Render tweet text (tweets.rendering, and the {{ text|linkify }} filters of
tweets.templatetags.tweet_text): every character the user wrote is escaped; #tags, @mentions, http(s) URLs and
bare domains (example.org/path, linked as https://) become links.

A tag is shown as written and links to its canonical page (lower-cased, NFC: '#Running' and
'#running' both lead to /tags/running/, the page that lists them together). A mention links to the
lower-cased username.

The text is cut into tokens first (tweets.parsing, the same rules that decided what was stored) and
each piece is escaped on its own, so user text can never produce markup and an escape sequence is
never cut in half: the only elements in the output are the <a> built here, whose attribute values
are escaped too.
"""

from __future__ import annotations

from datetime import datetime

from django.urls import reverse
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe

from tweets.parsing import tokens

# Longest URL shown in full; longer ones are shortened on screen (the href stays whole).
URL_DISPLAY_LENGTH = 40


def _shown_url(url: str, written: str) -> str:
    """The URL as people read it: no scheme, no 'www.', no lone trailing slash, at most
    URL_DISPLAY_LENGTH characters. A bare domain (written without its scheme) is shown as written,
    shortened only."""
    shown = written
    if written == url:
        shown = url.split("://", 1)[1]
        if shown.lower().startswith("www."):
            shown = shown[4:]
        if shown.endswith("/") and shown.count("/") == 1:
            shown = shown[:-1]
    return shown if len(shown) <= URL_DISPLAY_LENGTH else shown[: URL_DISPLAY_LENGTH - 1] + "…"


def linkify(text: str) -> SafeString:
    """Escaped tweet text with #tags, @mentions, http(s) URLs and bare domains as links."""
    parts: list[str] = []
    for token in tokens(str(text)):
        if token.kind == "url":
            parts.append(
                format_html(
                    '<a class="tweet-link" href="{}" title="{}" rel="nofollow ugc noopener noreferrer">{}</a>',
                    token.value,
                    token.value,
                    _shown_url(token.value, token.text),
                )
            )
        elif token.kind == "tag":
            href = reverse("tweets:tag", args=[token.value])
            parts.append(format_html('<a class="tweet-tag" href="{}">{}</a>', href, token.text))
        elif token.kind == "mention":
            href = reverse("profile", args=[token.value])
            parts.append(format_html('<a class="tweet-mention" href="{}">{}</a>', href, token.text))
        else:
            parts.append(escape(token.text))
    return mark_safe("".join(parts))  # noqa: S308 - every part is format_html() or escape() output


def tweet_age(moment: datetime) -> str:
    """How old a tweet is, the way timelines say it: 'now', '5m', '3h', '21 Nov', '21 Nov 2024'."""
    now = timezone.now()
    seconds = (now - moment).total_seconds()
    if seconds < 60:
        return "now"
    if seconds < 3600:
        return f"{int(seconds // 60)}m"
    if seconds < 86400:
        return f"{int(seconds // 3600)}h"
    local = timezone.localtime(moment)
    return date_format(local, "j M" if local.year == timezone.localtime(now).year else "j M Y")


def tweet_age_long(moment: datetime) -> str:
    """The same in words, for screen readers: 'just now', '5 minutes ago', '21 November 2024'."""
    now = timezone.now()
    seconds = (now - moment).total_seconds()
    if seconds < 60:
        return "just now"
    if seconds < 86400:
        # What timesince(depth=1) says for under a day (floored minutes or hours), without its
        # machinery: this runs for every tweet on every page, and one clock serves both decisions.
        count, unit = (int(seconds // 60), "minute") if seconds < 3600 else (int(seconds // 3600), "hour")
        return f"{count} {unit}{'' if count == 1 else 's'} ago"
    return date_format(timezone.localtime(moment), "j F Y")
