from __future__ import annotations

import time

from django import template
from django.conf import settings
from django.core.signals import setting_changed
from django.template.loader import render_to_string
from django.utils.safestring import SafeString, mark_safe

from tweets import trends

register = template.Library()

# limit -> (time.monotonic() until which it may be shown, the sidebar's HTML)
_kept: dict[int, tuple[float, str]] = {}


@register.simple_tag
def trending_sidebar(limit: int = 8) -> SafeString:
    """The trending sidebar's HTML (tweets/_trends_card.html), kept in this process for
    TRENDS_SIDEBAR_SECONDS: every page shows it, and within that time a page asks Redis nothing.

    The ranking is the same for every reader, so one copy per process serves everyone; tags are
    escaped when it is rendered. Not kept: an empty sidebar (the first tag of a quiet day shows at
    once, as tweets.trends promises, and with Redis down every page tries again), and anything
    under DEBUG (templates change under a developer's hands)."""
    now = time.monotonic()
    kept = _kept.get(limit)
    if kept is not None and now < kept[0]:
        return mark_safe(kept[1])  # noqa: S308 - template output, escaped when rendered
    trending = trends.top(limit=limit)
    html = render_to_string("tweets/_trends_card.html", {"trending": trending})
    if trending and not settings.DEBUG:
        _kept[limit] = (now + settings.TRENDS_SIDEBAR_SECONDS, html)
    return mark_safe(html)  # noqa: S308 - template output, escaped when rendered


def forget(**_: object) -> None:
    """Drop the kept sidebars: the next page asks Redis (a changed setting may change them)."""
    _kept.clear()


setting_changed.connect(forget, dispatch_uid="tweets.trending.forget")
