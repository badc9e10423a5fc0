"""The like and bookmark controls under a tweet, for one viewer (issue 21).

Formatted, not rendered through a template: they sit under every tweet of every list, and a
template render per card was most of a page's cost before (tweets.rendering). Only ints, the
viewer's CSRF token and the page's path (both escaped) go in. The forms work without JavaScript
(POST, then back to `next`); static/js/tweet-list.js is not needed for them.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from django.urls import reverse
from django.utils.html import escape

from tweets.selectors import Engagement

_HEART = (
    '<svg aria-hidden="true" viewBox="0 0 16 16" width="16" height="16"><path d="M8 14s-5.5-3.4-5.5-7.3A3 3 0 0 1 '
    '8 4.6a3 3 0 0 1 5.5 2.1C13.5 10.6 8 14 8 14Z" fill="{fill}" stroke="currentColor" stroke-width="1.3" '
    'stroke-linejoin="round"/></svg>'
)
_MARK = (
    '<svg aria-hidden="true" viewBox="0 0 16 16" width="16" height="16"><path d="M4 2.5h8v11l-4-3-4 3Z" '
    'fill="{fill}" stroke="currentColor" stroke-width="1.3" stroke-linejoin="round"/></svg>'
)
_NOUN = {1: "like"}


@dataclass(frozen=True, slots=True)
class FormFacts:
    csrf_token: str
    next_path: str


@cache
def _url(name: str) -> str:
    return reverse(f"tweets:{name}", args=[0]).removesuffix(f"0/{name}/") + "{id}/" + name + "/"


def _likes_text(likes: int) -> str:
    return f"{likes} {_NOUN.get(likes, 'likes')}"


def visitor_bar(tweet_id: int, engagement: Engagement | None) -> str:
    likes = engagement.likes if engagement else 0
    return (
        f'<div class="tweet-engage"><span class="tweet-likes" data-likes="{likes}" title="{_likes_text(likes)}">'
        f'{_HEART.format(fill="none")}<span class="like-count">{likes}</span>'
        f'<span class="visually-hidden"> {"like" if likes == 1 else "likes"}</span></span></div>'
    )


def _form(*, action: str, form: FormFacts, button: str) -> str:
    return (
        f'<form method="post" action="{action}" class="inline-form">'
        f'<input type="hidden" name="csrfmiddlewaretoken" value="{escape(form.csrf_token)}">'
        f'<input type="hidden" name="next" value="{escape(form.next_path)}">{button}</form>'
    )


def member_bar(tweet_id: int, engagement: Engagement | None, form: FormFacts) -> str:
    state = engagement or Engagement(likes=0)
    tweet_id = int(tweet_id)
    liked, marked = state.liked, state.bookmarked
    like_button = (
        f'<button type="submit" class="tweet-action tweet-like" aria-pressed="{"true" if liked else "false"}" '
        f'data-likes="{state.likes}">{_HEART.format(fill="currentColor" if liked else "none")}'
        f'<span class="like-count">{state.likes}</span>'
        f'<span class="visually-hidden"> {"like" if state.likes == 1 else "likes"}. '
        f"{'Unlike' if liked else 'Like'}</span></button>"
    )
    mark_button = (
        f'<button type="submit" class="tweet-action tweet-bookmark" aria-pressed="{"true" if marked else "false"}">'
        f"{_MARK.format(fill='currentColor' if marked else 'none')}"
        f"<span>{'Bookmarked' if marked else 'Bookmark'}</span></button>"
    )
    like_action = _url("unlike" if liked else "like").format(id=tweet_id)
    mark_action = _url("unbookmark" if marked else "bookmark").format(id=tweet_id)
    return (
        '<div class="tweet-engage">'
        + _form(action=like_action, form=form, button=like_button)
        + _form(action=mark_action, form=form, button=mark_button)
        + "</div>"
    )


# A tweet pushed live goes to many members at once, so it cannot carry anyone's CSRF token: its
# forms have an empty one, which static/js/badges.js fills from the page's own (every member's page
# has one: the header's logout form) as the tweet is inserted. New tweets have no likes yet.
_LIVE_FORM = FormFacts(csrf_token="", next_path="/")


def live_bar(tweet_id: int) -> str:
    """The like and bookmark buttons of a tweet pushed live (not liked, not bookmarked, 0 likes)."""
    return member_bar(tweet_id, None, _LIVE_FORM)
