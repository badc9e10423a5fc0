from __future__ import annotations

from typing import cast

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST, require_safe

from accounts.models import User
from accounts.selectors import nearby_people, profile_by_username, stats_for
from accounts.services import require_verified
from follows import blocks, selectors, services
from tweethub.cursors import before_cursor, rank_cursor
from tweethub.http import safe_next


def _person(username: str) -> User:
    try:
        return profile_by_username(username)
    except User.DoesNotExist:
        raise Http404("No such user") from None


@require_POST
def follow(request: HttpRequest, username: str) -> HttpResponse:
    """Idempotent: following someone you already follow changes nothing and says so the same way."""
    return _change(request, username, follow=True)


@require_POST
def unfollow(request: HttpRequest, username: str) -> HttpResponse:
    return _change(request, username, follow=False)


def _change(request: HttpRequest, username: str, *, follow: bool) -> HttpResponse:
    person = _person(username)
    back = safe_next(request, reverse("profile", args=[person.username]))
    if not request.user.is_authenticated:
        # Not @login_required: it would send the visitor back to this POST-only URL by GET (a 405)
        # after logging in; the page they clicked on is where they want to be.
        return redirect_to_login(back)
    user = request.user
    try:
        if follow:
            services.follow_create(follower=user, followee=person)
        else:
            # follow_delete itself lets anyone unfollow; following is for verified users, so is
            # this button (NotVerified -> 403 page with its message).
            require_verified(user)
            services.follow_delete(follower=user, followee=person)
    except ValidationError as error:
        return render(request, "follows/refused.html", {"person": person, "error": error}, status=400)
    messages.success(request, f"You {'follow' if follow else 'no longer follow'} @{person.username}")
    return redirect(back)


@require_safe
def followers(request: HttpRequest, username: str) -> HttpResponse:
    return _people(request, username, which="followers")


@require_safe
def following(request: HttpRequest, username: str) -> HttpResponse:
    return _people(request, username, which="following")


def _people(request: HttpRequest, username: str, *, which: str) -> HttpResponse:
    person = _person(username)
    if person.username != username:
        return redirect(f"follows:{which}", username=person.username, permanent=True)
    before = before_cursor(request)
    page_of = selectors.followers_page if which == "followers" else selectors.following_page
    page = page_of(
        user_id=person.pk,
        viewer_id=request.user.pk if request.user.is_authenticated else None,
        before=before,
        limit=settings.TIMELINE_PAGE_SIZE,
    )
    stats = stats_for(person.pk)
    context = {"person": person, "stats": stats, "page": page, "which": which, "first_page": before is None}
    return render(request, "follows/people.html", context)


# --- Discovery: people you may know, people nearby, and the four lists --------------------------


@login_required
@require_safe
def discover(request: HttpRequest) -> HttpResponse:
    user = cast(User, request.user)
    rows = selectors.suggestions(viewer_id=user.pk, limit=settings.DISCOVER_SUGGESTIONS)
    return render(request, "follows/discover.html", {"tab": "suggestions", "suggestions": rows})


@login_required
@require_safe
def nearby(request: HttpRequest) -> HttpResponse:
    user = cast(User, request.user)
    people = nearby_people(viewer=user, limit=settings.NEARBY_RESULTS)
    followed = selectors.followed_among(follower_id=user.pk, user_ids=(row.person.pk for row in people))
    rows = [(row, row.person.pk in followed) for row in people]
    return render(
        request, "follows/nearby.html", {"tab": "nearby", "rows": rows, "sharing": user.latitude is not None}
    )


# Slug -> title. "following" and "followers" reuse the profile pages' selectors (newest follow first);
# the two-hop lists are ranked by how many of your connections lead to each person.
DISCOVER_LISTS = {
    "following": "People you follow",
    "friends-of-friends": "Friends of friends",
    "followers": "Your followers",
    "followers-of-followers": "Followers of your followers",
}


@login_required
@require_safe
def discover_list(request: HttpRequest, which: str) -> HttpResponse:
    if which not in DISCOVER_LISTS:
        raise Http404("No such list")
    me, limit = cast(User, request.user).pk, settings.TIMELINE_PAGE_SIZE
    context: dict[str, object] = {"tab": which, "title": DISCOVER_LISTS[which]}
    if which in ("following", "followers"):
        page_of = selectors.following_page if which == "following" else selectors.followers_page
        before = before_cursor(request)
        context |= {
            "page": page_of(user_id=me, viewer_id=me, before=before, limit=limit),
            "first_page": before is None,
        }
    else:
        page_of_ranked = (
            selectors.friends_of_friends_page
            if which == "friends-of-friends"
            else selectors.followers_of_followers_page
        )
        after = rank_cursor(request)
        context |= {"page": page_of_ranked(viewer_id=me, after=after, limit=limit), "first_page": after is None}
    return render(request, "follows/discover_list.html", context)


# --- Block and mute: buttons on profiles, lists in settings ------------------------------------

_MESSAGES = {
    "block": "You blocked @{}. Neither of you can follow or reply to the other.",
    "unblock": "You unblocked @{}.",
    "mute": "You muted @{}. Their tweets leave your home timeline; they are not told.",
    "unmute": "You unmuted @{}.",
}


def _relation_change(request: HttpRequest, username: str, which: str) -> HttpResponse:
    """POST only, CSRF-checked; the change is the viewer's own (their block or mute list), so the
    object-level check is that one acts only as oneself. Idempotent; refused input (oneself,
    unverified) answers the follows/refused.html page with the reason and changes nothing."""
    person = _person(username)
    back = safe_next(request, reverse("profile", args=[person.username]))
    if not request.user.is_authenticated:
        return redirect_to_login(back)
    user = request.user
    try:
        if which == "block":
            services.block_create(blocker=user, blocked=person)
        elif which == "unblock":
            services.block_delete(blocker=user, blocked=person)
        elif which == "mute":
            services.mute_create(muter=user, muted=person)
        else:
            services.mute_delete(muter=user, muted=person)
    except ValidationError as error:
        return render(request, "follows/refused.html", {"person": person, "error": error}, status=400)
    messages.success(request, _MESSAGES[which].format(person.username))
    return redirect(back)


@require_POST
def block(request: HttpRequest, username: str) -> HttpResponse:
    return _relation_change(request, username, "block")


@require_POST
def unblock(request: HttpRequest, username: str) -> HttpResponse:
    return _relation_change(request, username, "unblock")


@require_POST
def mute(request: HttpRequest, username: str) -> HttpResponse:
    return _relation_change(request, username, "mute")


@require_POST
def unmute(request: HttpRequest, username: str) -> HttpResponse:
    return _relation_change(request, username, "unmute")


@login_required
@require_safe
def settings_blocked(request: HttpRequest) -> HttpResponse:
    """/settings/blocked/: the accounts the member blocked, newest first, each with Unblock."""
    before = before_cursor(request)
    page = blocks.blocked_page(user_id=cast(User, request.user).pk, before=before, limit=settings.TIMELINE_PAGE_SIZE)
    context = {"page": page, "which": "blocked", "first_page": before is None}
    return render(request, "follows/settings_relations.html", context)


@login_required
@require_safe
def settings_muted(request: HttpRequest) -> HttpResponse:
    """/settings/muted/: the accounts the member muted, newest first, each with Unmute."""
    before = before_cursor(request)
    page = blocks.muted_page(user_id=cast(User, request.user).pk, before=before, limit=settings.TIMELINE_PAGE_SIZE)
    context = {"page": page, "which": "muted", "first_page": before is None}
    return render(request, "follows/settings_relations.html", context)
