"""Me, profiles, a person's tweets, their followers and following, follow and unfollow."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from ninja import Router

from accounts.selectors import stats_for
from accounts.services import require_verified
from api import cursors
from api.auth import authenticated, caller, public, user_of
from api.models import Scope
from api.schemas import FollowResult, Me, Page, Person, Profile, TweetOut, person_out, profile_out
from api.views.common import errors, person
from api.views.params import Cursor, Username
from api.views.tweets import page_of
from follows import selectors as follow_selectors
from follows import services as follow_services
from tweets import selectors as tweet_selectors

router = Router(tags=["people"])


@router.get("/me", response={200: Me, **errors(403)}, auth=authenticated(Scope.READ))
def me(request: HttpRequest) -> dict[str, object]:
    """The caller's own profile, with their settings that others do not see."""
    user = user_of(request)
    pinned = tweet_selectors.pinned_tweet(author_id=user.pk)
    profile = profile_out(user, stats_for(user.pk), followed=False, pinned=pinned, viewer_id=user.pk)
    return {**profile, "verified": user.is_verified, "dm_policy": user.dm_policy}


@router.get("/users/{username}", response={200: Profile, **errors(404, 422)}, auth=public())
def profile(request: HttpRequest, username: Username) -> dict[str, object]:
    """A public profile: counts, the pinned tweet, and whether the caller follows them."""
    user = person(username)
    followed = follow_selectors.is_following(follower_id=caller(request).user_id, followee_id=user.pk)
    pinned = tweet_selectors.pinned_tweet(author_id=user.pk)
    return profile_out(user, stats_for(user.pk), followed=followed, pinned=pinned, viewer_id=caller(request).user_id)


@router.get("/users/{username}/tweets", response={200: Page[TweetOut], **errors(404, 422)}, auth=public())
def user_tweets(request: HttpRequest, username: Username, cursor: Cursor = None) -> dict[str, object]:
    """A person's tweets, newest first, the pinned one in its place in time (flagged `pinned`);
    their self-threads included, their replies to others left out (see /tweets-and-replies)."""
    user = person(username)
    page = tweet_selectors.tweets_by_author(
        author_id=user.pk,
        before=cursors.before(cursor),
        limit=settings.TIMELINE_PAGE_SIZE,
        viewer_id=caller(request).user_id,
    )
    return page_of(request, page)


def _people(request: HttpRequest, username: str, cursor: str | None, *, followers: bool) -> dict[str, object]:
    user = person(username)
    page_of = follow_selectors.followers_page if followers else follow_selectors.following_page
    page = page_of(
        user_id=user.pk,
        viewer_id=caller(request).user_id,
        before=cursors.before(cursor),
        limit=settings.TIMELINE_PAGE_SIZE,
    )
    return {"items": [person_out(row) for row in page.items], "next_cursor": cursors.next_cursor(page.next_cursor)}


@router.get("/users/{username}/followers", response={200: Page[Person], **errors(404, 422)}, auth=public())
def followers(request: HttpRequest, username: Username, cursor: Cursor = None) -> dict[str, object]:
    """Active people following them, newest follow first."""
    return _people(request, username, cursor, followers=True)


@router.get("/users/{username}/following", response={200: Page[Person], **errors(404, 422)}, auth=public())
def following(request: HttpRequest, username: Username, cursor: Cursor = None) -> dict[str, object]:
    """Active people they follow, newest follow first."""
    return _people(request, username, cursor, followers=False)


@router.put(
    "/users/{username}/follow",
    response={200: FollowResult, **errors(400, 403, 404, 422)},
    auth=authenticated(Scope.WRITE),
)
def follow(request: HttpRequest, username: Username) -> dict[str, object]:
    """Follow them. Idempotent. Verified accounts only (403); yourself 422; rate-limited (429)."""
    changed = follow_services.follow_create(follower=user_of(request), followee=person(username))
    return {"following": True, "changed": changed}


@router.delete(
    "/users/{username}/follow",
    response={200: FollowResult, **errors(400, 403, 404, 422)},
    auth=authenticated(Scope.WRITE),
)
def unfollow(request: HttpRequest, username: Username) -> dict[str, object]:
    """Stop following them. Idempotent. Verified accounts only, as the page's button (403)."""
    user = user_of(request)
    require_verified(user)
    changed = follow_services.follow_delete(follower=user, followee=person(username))
    return {"following": False, "changed": changed}
