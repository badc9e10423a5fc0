"""Tweets on pages: {% tweet_html tweet %} for one, {% tweets_html tweets as items %} for a list (one
cache read for the whole list). The shared HTML comes from tweets.rendering; the viewer's own
controls are rendered here, with the page's context (its user, CSRF token and path)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django import template
from django.template import Context, Engine
from django.utils.safestring import SafeString

from follows.blocks import hidden_author_ids
from tweets import engagement_html, rendering, selectors
from tweets.cards import TweetCard

register = template.Library()

ACTIONS_TEMPLATE = "tweets/_tweet_actions.html"


def _controls(context: Context, cards: list[TweetCard], marks: Any = None) -> rendering.Controls:
    """Under each tweet: its likes (for everyone; for members, the like and bookmark buttons, in the
    state of THEIR likes and bookmarks), then the owner's forms under their own tweets and a report
    link under the others'. The counts come with the cards; a member's likes and bookmarks from
    `marks` when the page's read brought them (home), else one query for the whole list
    (tweets.selectors.engagement_of)."""
    user: Any = context.get("user")
    member = user is not None and user.is_authenticated
    viewer_id = user.pk if member else None
    engagement = selectors.engagement_of(viewer_id=viewer_id, cards=cards, known=marks)
    if not member:
        return lambda tweet: engagement_html.visitor_bar(tweet.id, engagement.get(tweet.id))
    engine = context.template.engine if context.template is not None else Engine.get_default()
    actions = engine.get_template(ACTIONS_TEMPLATE)
    request: Any = context.get("request")
    form = engagement_html.FormFacts(
        csrf_token=str(context.get("csrf_token", "")), next_path=request.get_full_path() if request else "/"
    )

    def controls(tweet: TweetCard) -> str:
        bar = engagement_html.member_bar(tweet.id, engagement.get(tweet.id), form)
        share = rendering.share_controls(
            tweet, undo=tweet.reposted_by is not None and tweet.reposted_by.id == viewer_id
        )
        if tweet.author_id != viewer_id:
            return bar + share + rendering.report_control(tweet)
        with context.push(tweet=tweet):
            return bar + share + actions.render(context)

    return controls


def _hidden_quoted(context: Context, cards: list[TweetCard]) -> frozenset[int]:
    """The accounts hidden from the viewer, read only when the list embeds a quoted tweet (one
    cache round trip for the list, follows.blocks.hidden_author_ids; none for a visitor or a list
    without quotes): the quoted card is shared by every reader, so the viewer's rule is applied here."""
    user: Any = context.get("user")
    if user is None or not user.is_authenticated or not any(card.quoted is not None for card in cards):
        return frozenset()
    return hidden_author_ids(user.pk)


@register.simple_tag(takes_context=True)
def tweet_html(context: Context, tweet: TweetCard, *, detail: bool = False, pinned_label: bool = False) -> SafeString:
    return rendering.render_tweets(
        [tweet],
        detail=bool(detail),
        pinned_label=bool(pinned_label),
        controls=_controls(context, [tweet]),
        hidden=_hidden_quoted(context, [tweet]),
    )[0]


@register.simple_tag(takes_context=True)
def tweets_html(
    context: Context, tweets: Iterable[TweetCard], *, pinned_label: bool = False, marks: Any = None
) -> list[SafeString]:
    """`marks`: the reader's likes and bookmarks when the page brought them (TweetPage.marks)."""
    cards = list(tweets)
    return rendering.render_tweets(
        cards,
        pinned_label=bool(pinned_label),
        controls=_controls(context, cards, marks),
        hidden=_hidden_quoted(context, cards),
    )
