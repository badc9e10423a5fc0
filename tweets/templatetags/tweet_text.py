"""{{ text|linkify }}, {{ moment|tweet_age }}, {{ moment|tweet_age_long }}: the template side of
tweets.text, which tweets.rendering uses directly (a module, not this library, so that rendering
and the template tags never import each other)."""

from __future__ import annotations

from django import template

from tweets.text import linkify, tweet_age, tweet_age_long

register = template.Library()
register.filter("linkify", linkify, is_safe=True)
register.filter("tweet_age", tweet_age)
register.filter("tweet_age_long", tweet_age_long)
