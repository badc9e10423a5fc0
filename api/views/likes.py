"""Likes: like / unlike a tweet, and a person's likes (the profile's Likes tab).

Over tweets.services.like_create / like_delete and tweets.selectors.liked_tweets, the calls the
card's heart and the Likes tab make: who may like (verified members), a block either way (404, not
revealed), the rate limit shared by likes and unlikes, the author's notification, all live there."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from ninja import Router
from pydantic import Field

from api import cursors
from api.auth import authenticated, public, user_of
from api.models import Scope
from api.problems import Problem
from api.schemas import Page, Schema, TweetOut
from api.views.common import errors, person
from api.views.params import Cursor, TweetId, Username
from api.views.tweets import page_of
from tweets import selectors, services
from tweets.models import Tweet

router = Router(tags=["likes"])

NOT_FOUND = "There is no such tweet (it may have been deleted)."
WRITE_ERRORS = errors(400, 403, 404, 422)


class LikeResult(Schema):
    liked: bool
    changed: bool = Field(description="False when it was so already (both calls are idempotent).")


def missing() -> Problem:
    return Problem(404, NOT_FOUND, kind="not-found")


@router.put("/tweets/{tweet_id}/like", response={200: LikeResult, **WRITE_ERRORS}, auth=authenticated(Scope.WRITE))
def like_tweet(request: HttpRequest, tweet_id: TweetId) -> dict[str, object]:
    """Like a tweet (its author is told, unless it is yours). Idempotent. Verified accounts only
    (403); 404 for a tweet that is gone, hidden, or whose author has a block with you either way;
    rate-limited with unlikes (429). Nothing changes on a refusal."""
    try:
        changed = services.like_create(user=user_of(request), tweet_id=tweet_id)
    except Tweet.DoesNotExist:
        raise missing() from None
    return {"liked": True, "changed": changed}


@router.delete("/tweets/{tweet_id}/like", response={200: LikeResult, **WRITE_ERRORS}, auth=authenticated(Scope.WRITE))
def unlike_tweet(request: HttpRequest, tweet_id: TweetId) -> dict[str, object]:
    """Take your like back. Idempotent; as liking for refusals."""
    try:
        changed = services.like_delete(user=user_of(request), tweet_id=tweet_id)
    except Tweet.DoesNotExist:
        raise missing() from None
    return {"liked": False, "changed": changed}


@router.get("/users/{username}/likes", response={200: Page[TweetOut], **errors(404, 422)}, auth=public())
def user_likes(request: HttpRequest, username: Username, cursor: Cursor = None) -> dict[str, object]:
    """The tweets a person liked, most recently liked first (likes are public, as on the profile's
    Likes tab); tweets of suspended accounts left out."""
    user = person(username)
    page = selectors.liked_tweets(user_id=user.pk, before=cursors.before(cursor), limit=settings.TIMELINE_PAGE_SIZE)
    return page_of(request, page)
