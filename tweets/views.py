"""Tweet pages and actions. Each view parses input, calls one service or selector, and renders.

Errors a person can cause are answered in words: a refused tweet comes back with the message
beside the field and the text kept (400); someone else's tweet is 403 (tweets are public, so
hiding their existence would protect nothing); an unknown tweet or a malformed tag is 404; a
malformed page cursor is 400 (tweethub.cursors). Writes are POST-only and CSRF-checked; deleting
asks first (GET /tweets/<id>/delete/ is the question, for browsers without JavaScript).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST, require_safe

from accounts import selectors as account_selectors
from accounts.models import User
from accounts.selectors import search_users
from follows.blocks import relation, without_hidden
from follows.selectors import is_following, people_rows
from tweethub.cursors import after_cursor, before_cursor
from tweethub.http import safe_next
from tweets import rendering, selectors, services, trends
from tweets.forms import ReplyForm, TweetForm
from tweets.models import Tweet
from tweets.parsing import normalize_tag
from tweets.search import search_tweets


@require_POST
@login_required
def create(request: HttpRequest) -> HttpResponse:
    form = TweetForm(request.POST)
    if form.is_valid():
        try:
            services.tweet_create(author=cast(User, request.user), text=form.cleaned_data["text"])
        except ValidationError as error:
            form.add_error(None, error)  # a {"text": ...} error lands beside the field
        else:
            messages.success(request, "Your tweet is posted.")
            return redirect(safe_next(request, reverse("landing")))
    # Going back to the page the form was on would lose the error and the text: show them here.
    return render(request, "tweets/compose.html", {"form": form}, status=400)


def _thread(request: HttpRequest, tweet_id: int, *, form: ReplyForm | None = None, status: int = 200) -> HttpResponse:
    """A tweet's page (tweets.selectors.thread): the tweets it answers above, the reply box, its
    replies below (oldest first, ?after= for more). A deleted tweet that has replies keeps its
    page, as a placeholder over them; one without is 404. A constant number of queries and round
    trips, whatever the page sizes."""
    viewer_id = request.user.pk if request.user.is_authenticated else None
    after = after_cursor(request)
    try:
        # A reply just refused (form given) says why on the placeholder page, replies or not.
        shown = selectors.thread(
            tweet_id=tweet_id, viewer_id=viewer_id, after=after, limit=settings.REPLIES_PAGE_SIZE,
            keep_missing=form is not None,
        )  # fmt: skip
    except Tweet.DoesNotExist:
        raise Http404("No such tweet") from None
    tweet = shown.tweet
    mention_author = tweet is not None and tweet.author_id != viewer_id
    context = {
        "tweet": tweet,
        "tweet_id": tweet_id,
        "ancestors": shown.ancestors,
        "replies": shown.replies,
        "first_page": after is None,
        # Answering someone starts with their name, as on Twitter; continuing one's own thread does not.
        "form": form
        or ReplyForm(initial={"text": f"@{tweet.author.username} " if tweet is not None and mention_author else ""}),
        "may_reply": tweet is not None and viewer_id is not None and tweet.author_id not in shown.hidden,
    }
    return render(request, "tweets/detail.html", context, status=status)


@require_GET
def detail(request: HttpRequest, tweet_id: int) -> HttpResponse:
    return _thread(request, tweet_id)


@require_POST
@login_required
def reply(request: HttpRequest, tweet_id: int) -> HttpResponse:
    """Post a reply. A tweet the member may not see (gone author, a block) is 404; a deleted one, a
    refused text or a rate limit come back as words on the tweet's page; nothing is written."""
    form = ReplyForm(request.POST)
    if form.is_valid():
        try:
            created = services.tweet_create(
                author=cast(User, request.user), text=form.cleaned_data["text"], in_reply_to=tweet_id
            )
        except Tweet.DoesNotExist:
            return render(request, "tweets/reply_unavailable.html", status=404)
        except services.ReplyRefused as refused:
            form.add_error(None, str(refused))
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, "Your reply is posted.")
            return redirect("tweets:detail", tweet_id=created.pk)
    return _thread(request, tweet_id, form=form, status=400)


def _own_profile(request: HttpRequest) -> str:
    return reverse("profile", args=[request.user.get_username()])


def _confirm_delete(request: HttpRequest, tweet_id: int) -> HttpResponse:
    """The question before deleting, with the tweet shown and the POST form that deletes it. Only
    for the owner (403 for anyone else, like the POST); nothing is changed."""
    try:
        card = selectors.tweet_card(tweet_id)
    except Tweet.DoesNotExist:
        raise Http404("No such tweet") from None
    if card.author_id != request.user.pk:
        raise PermissionDenied("That is not your tweet.")
    context = {
        "tweet": card,
        # Shown without the owner's Pin/Delete controls: the page is the question about them.
        "tweet_html": rendering.render_tweet(card, detail=True),
        "next": safe_next(request, ""),
        "cancel": safe_next(request, reverse("tweets:detail", args=[tweet_id])),
    }
    return render(request, "tweets/delete_confirm.html", context)


@require_http_methods(["GET", "POST"])
@login_required
def delete(request: HttpRequest, tweet_id: int) -> HttpResponse:
    """GET asks (tweets/delete_confirm.html); POST deletes. With JavaScript the Delete control asks
    with confirm() and posts at once (static/js/tweet-list.js)."""
    if request.method == "GET":
        return _confirm_delete(request, tweet_id)
    try:
        services.tweet_delete(tweet_id=tweet_id, user=cast(User, request.user))
    except Tweet.DoesNotExist:
        raise Http404("No such tweet") from None
    messages.success(request, "Your tweet is deleted.")
    target = safe_next(request, _own_profile(request))
    # Back to where the button was, unless that was the deleted tweet's own page.
    if target.split("?")[0] == reverse("tweets:detail", args=[tweet_id]):
        target = _own_profile(request)
    return redirect(target)


@require_POST
@login_required
def pin(request: HttpRequest, tweet_id: int) -> HttpResponse:
    try:
        services.tweet_pin(tweet_id=tweet_id, user=cast(User, request.user))
    except Tweet.DoesNotExist:
        raise Http404("No such tweet") from None
    messages.success(request, "Pinned to your profile.")
    # To the profile, where the pinned tweet now comes first: the result of the action.
    return redirect(_own_profile(request))


@require_POST
@login_required
def unpin(request: HttpRequest, tweet_id: int) -> HttpResponse:
    try:
        services.tweet_unpin(tweet_id=tweet_id, user=cast(User, request.user))
    except Tweet.DoesNotExist:
        raise Http404("No such tweet") from None
    messages.success(request, "Unpinned from your profile.")
    return redirect(safe_next(request, _own_profile(request)))


@require_GET
def tag(request: HttpRequest, tag: str) -> HttpResponse:
    """Tweets with #tag, newest first; /tags/Café/ and /tags/café/ are the same page."""
    canonical = normalize_tag(tag)
    if canonical is None:
        raise Http404("Not a hashtag")
    before = before_cursor(request)
    page = selectors.tweets_with_tag(tag=canonical, before=before, limit=settings.TIMELINE_PAGE_SIZE)
    return render(request, "tweets/tag.html", {"tag": canonical, "page": page, "first_page": before is None})


@require_GET
def trending(request: HttpRequest) -> HttpResponse:
    return render(request, "tweets/trending.html", {"trends": trends.ranked(limit=30)})


@require_safe
def profile(request: HttpRequest, username: str) -> HttpResponse:
    """A public profile (the user timeline): counts, follow button, the pinned tweet, then tweets
    newest first (?before=<tweet id>). A constant number of queries, whatever the page size."""
    try:
        person = account_selectors.profile_by_username(username)
    except User.DoesNotExist:
        if account_selectors.is_suspended(username):
            return render(request, "accounts/suspended.html", {"username": username}, status=404)
        raise Http404("No such user") from None
    if person.username != username:
        return redirect("profile", username=person.username, permanent=True)
    before, limit = before_cursor(request), settings.TIMELINE_PAGE_SIZE
    with_replies = request.GET.get("tab") == "replies"
    # The pinned tweet heads the first page and is left out of that page's list only; two extra
    # rows keep a full page (and an exact "more" answer) when it was among them. Later pages
    # show it in its place in time, unlabelled, so no tweet is ever missing from the pages.
    pinned = selectors.pinned_tweet(author_id=person.pk) if before is None else None
    viewer_id = request.user.pk if request.user.is_authenticated else None
    page = selectors.tweets_by_author(
        author_id=person.pk,
        before=before,
        limit=limit,
        leave_out=pinned.id if pinned else None,
        with_replies=with_replies,
        viewer_id=viewer_id,
    )
    context = {
        "person": person, "stats": account_selectors.stats_for(person.pk), "pinned": pinned, "page": page,
        "is_following": is_following(follower_id=viewer_id, followee_id=person.pk),
        "relation": relation(viewer_id=viewer_id, other_id=person.pk), "tab": "replies" if with_replies else "",
    }  # fmt: skip
    return render(request, "accounts/profile.html", context)


# Search: people first (trigram match on names), then tweets (full text, and the tweets mentioning
# the people the query names: tweets.search), one GET form.
# Longest query we search for; longer input is cut, never refused (a pasted paragraph still works).
MAX_QUERY_LENGTH = 100
# People shown above the tweets (first page only; people are ranked, not paged).
PEOPLE_LIMIT = 20


def clean_query(raw: str) -> str:
    """Control and invisible characters (NUL included) become spaces, runs of whitespace one
    space, and the result is cut to MAX_QUERY_LENGTH: what is searched is what the form shows."""
    printable = "".join(char if char.isprintable() else " " for char in raw)
    return " ".join(printable.split())[:MAX_QUERY_LENGTH].strip()


@require_safe
def search(request: HttpRequest) -> HttpResponse:
    q = clean_query(request.GET.get("q", ""))
    before, limit = before_cursor(request), settings.TIMELINE_PAGE_SIZE
    viewer_id = request.user.pk if request.user.is_authenticated else None
    people = search_users(q, limit=PEOPLE_LIMIT) if q and before is None else []
    people = without_hidden(viewer_id, people)
    page = search_tweets(q, before=before, limit=limit, viewer_id=viewer_id) if q else None
    context = {
        "q": q,
        "first_page": before is None,
        "people": people_rows(viewer_id=viewer_id, people=people),
        "page": page,
    }
    return render(request, "search.html", context)


# Likes and bookmarks (issue 21). Not @login_required on the POSTs: a visitor's click goes to the
# login page and back to the page the button was on (the POST-only URL would answer 405).
def _mark(request: HttpRequest, tweet_id: int, change: Callable[..., bool], done: str) -> HttpResponse:
    back = safe_next(request, reverse("tweets:detail", args=[tweet_id]))
    if not request.user.is_authenticated:
        return redirect_to_login(back)
    try:
        change(user=request.user, tweet_id=tweet_id)
    except Tweet.DoesNotExist:
        raise Http404("No such tweet") from None
    if done:
        messages.success(request, done)
    return redirect(back)


@require_POST
def like(request: HttpRequest, tweet_id: int) -> HttpResponse:
    return _mark(request, tweet_id, services.like_create, "")


@require_POST
def unlike(request: HttpRequest, tweet_id: int) -> HttpResponse:
    return _mark(request, tweet_id, services.like_delete, "")


@require_POST
def bookmark(request: HttpRequest, tweet_id: int) -> HttpResponse:
    return _mark(request, tweet_id, services.bookmark_create, "Added to your bookmarks.")


@require_POST
def unbookmark(request: HttpRequest, tweet_id: int) -> HttpResponse:
    return _mark(request, tweet_id, services.bookmark_delete, "Removed from your bookmarks.")


@require_safe
@login_required
def bookmarks(request: HttpRequest) -> HttpResponse:
    """The member's own bookmarks: no username in the URL, so there is nobody else's to ask for."""
    before = before_cursor(request)
    page = selectors.bookmarked_tweets(
        user_id=cast(User, request.user).pk, before=before, limit=settings.TIMELINE_PAGE_SIZE
    )
    return render(request, "tweets/bookmarks.html", {"page": page, "first_page": before is None})


@require_safe
def likes(request: HttpRequest, username: str) -> HttpResponse:
    """A profile's Likes tab (?before=<like id>): the tweets the person liked, newest like first."""
    try:
        person = account_selectors.profile_by_username(username)
    except User.DoesNotExist:
        raise Http404("No such user") from None
    if person.username != username:
        return redirect("tweets:likes", username=person.username, permanent=True)
    before = before_cursor(request)
    viewer_id = request.user.pk if request.user.is_authenticated else None
    page = selectors.liked_tweets(
        user_id=person.pk, before=before, limit=settings.TIMELINE_PAGE_SIZE, viewer_id=viewer_id
    )
    context = {
        "person": person, "stats": account_selectors.stats_for(person.pk), "page": page,
        "first_page": before is None, "tab": "likes",
        "is_following": is_following(follower_id=viewer_id, followee_id=person.pk),
        "relation": relation(viewer_id=viewer_id, other_id=person.pk),
    }  # fmt: skip
    return render(request, "accounts/profile.html", context)
