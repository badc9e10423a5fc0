from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST, require_safe

from accounts.models import User
from accounts.selectors import profile_by_username, stats_for
from accounts.services import require_verified
from follows import selectors, services
from tweethub.cursors import before_cursor
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
