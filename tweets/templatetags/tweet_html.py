"""Tweets on pages: {% tweet_html tweet %} for one, {% tweets_html tweets as items %} for a list (one
cache read for the whole list). The shared HTML comes from tweets.rendering; the viewer's own
controls are rendered here, with the page's context (its user, CSRF token and path)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django import template
from django.template import Context, Engine
from django.utils.safestring import SafeString

from tweets import rendering
from tweets.cards import TweetCard

register = template.Library()

ACTIONS_TEMPLATE = "tweets/_tweet_actions.html"


def _controls(context: Context) -> rendering.Controls | None:
    """The owner's forms under their own tweets, and a report link under the others', for the
    member viewing the page; None for visitors."""
    user: Any = context.get("user")
    if user is None or not user.is_authenticated:
        return None
    engine = context.template.engine if context.template is not None else Engine.get_default()
    actions = engine.get_template(ACTIONS_TEMPLATE)
    viewer_id = user.pk

    def controls(tweet: TweetCard) -> str:
        share = rendering.share_controls(
            tweet, undo=tweet.reposted_by is not None and tweet.reposted_by.id == viewer_id
        )
        if tweet.author_id != viewer_id:
            return share + rendering.report_control(tweet)
        with context.push(tweet=tweet):
            return share + actions.render(context)

    return controls


@register.simple_tag(takes_context=True)
def tweet_html(context: Context, tweet: TweetCard, *, detail: bool = False, pinned_label: bool = False) -> SafeString:
    return rendering.render_tweet(
        tweet, detail=bool(detail), pinned_label=bool(pinned_label), controls=_controls(context)
    )


@register.simple_tag(takes_context=True)
def tweets_html(context: Context, tweets: Iterable[TweetCard], *, pinned_label: bool = False) -> list[SafeString]:
    return rendering.render_tweets(list(tweets), pinned_label=bool(pinned_label), controls=_controls(context))
