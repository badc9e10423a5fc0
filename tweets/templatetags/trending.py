from __future__ import annotations

from django import template

from tweets import trends

register = template.Library()


@register.simple_tag
def trending_tags(limit: int = 8) -> list[tuple[str, float]]:
    """The sidebar's trends: one Redis read of a cached union (tweets.trends), no SQL."""
    return trends.top(limit=limit)
