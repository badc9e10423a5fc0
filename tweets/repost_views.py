"""Repost, undo and quote pages (tweets.reposts). Thin: parse, one service, redirect or render.

A tweet the member may not see (absent, its author suspended, a block either way) is 404; one
deleted while the page was open comes back as a message; nothing is written either way. Writes are
POST with CSRF; reposts share the tweets' rate limit (429 through RateLimitedMiddleware).
"""

from __future__ import annotations

from typing import cast
from urllib.parse import urlsplit

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from accounts.models import User
from tweethub.http import safe_next
from tweets import rendering, reposts, selectors, services
from tweets.forms import TweetForm
from tweets.models import Tweet


def _back(request: HttpRequest) -> str:
    """Where the asking page returns to: ?next=, else the page the control was on (Referer, a path
    on this site only), else "" (the tweet's page)."""
    target = safe_next(request, "")
    if target:
        return target
    referer = urlsplit(request.headers.get("Referer", ""))
    if referer.netloc == request.get_host() and referer.path.startswith("/"):
        return referer.path + (f"?{referer.query}" if referer.query else "")
    return ""


def _ask(request: HttpRequest, tweet_id: int, *, undo: bool) -> HttpResponse:
    """The question before a repost or its undoing (the card's control is a link: no CSRF token in
    shared HTML): the tweet, and the POST form that does it. Nothing is changed."""
    try:
        reposts.original_for(tweet_id=tweet_id, user=cast(User, request.user))
        card = selectors.tweet_card(tweet_id)
    except Tweet.DoesNotExist:
        raise Http404("No such tweet") from None
    context = {
        "tweet": card,
        "tweet_html": rendering.render_tweet(card),
        "undo": undo,
        "next": _back(request),
        "cancel": _back(request) or reverse("tweets:detail", args=[card.id]),
    }
    return render(request, "tweets/repost_confirm.html", context)


@require_http_methods(["GET", "POST"])
@login_required
def repost(request: HttpRequest, tweet_id: int) -> HttpResponse:
    """GET asks (with Quote beside it, as Twitter's menu does); POST reposts."""
    if request.method == "GET":
        return _ask(request, tweet_id, undo=False)
    try:
        reposts.repost_create(user=cast(User, request.user), tweet_id=tweet_id)
    except Tweet.DoesNotExist:
        raise Http404("No such tweet") from None
    except reposts.RepostRefused as refused:
        messages.error(request, str(refused))
    else:
        messages.success(request, "Reposted to your followers.")
    return redirect(safe_next(request, reverse("tweets:detail", args=[tweet_id])))


@require_http_methods(["GET", "POST"])
@login_required
def unrepost(request: HttpRequest, tweet_id: int) -> HttpResponse:
    """GET asks; POST undoes one's own repost (idempotent: nothing to undo says so)."""
    if request.method == "GET":
        return _ask(request, tweet_id, undo=True)
    if reposts.repost_delete(user=cast(User, request.user), tweet_id=tweet_id):
        messages.success(request, "Your repost is undone.")
    else:
        messages.info(request, "You had not reposted that tweet.")
    return redirect(safe_next(request, reverse("landing")))


def _quote_page(request: HttpRequest, tweet_id: int, form: TweetForm, *, status: int = 200) -> HttpResponse:
    try:
        reposts.original_for(tweet_id=tweet_id, user=cast(User, request.user))
        card = selectors.tweet_card(tweet_id)
    except Tweet.DoesNotExist:
        raise Http404("No such tweet") from None
    context = {"tweet": card, "tweet_html": rendering.render_tweet(card), "form": form}
    return render(request, "tweets/quote.html", context, status=status)


@require_http_methods(["GET", "POST"])
@login_required
def quote(request: HttpRequest, tweet_id: int) -> HttpResponse:
    """GET: the quote box under the tweet being quoted; POST: post the quote (a tweet embedding it)."""
    if request.method == "GET":
        return _quote_page(request, tweet_id, TweetForm())
    form = TweetForm(request.POST)
    if form.is_valid():
        try:
            created = services.tweet_create(
                author=cast(User, request.user), text=form.cleaned_data["text"], quote_of=tweet_id
            )
        except Tweet.DoesNotExist:
            raise Http404("No such tweet") from None
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, "Your quote is posted.")
            return redirect("tweets:detail", tweet_id=created.pk)
    return _quote_page(request, tweet_id, form, status=400)
