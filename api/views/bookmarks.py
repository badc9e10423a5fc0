"""Bookmarks: bookmark / unbookmark a tweet, and the caller's own bookmarks.

Over tweets.services.bookmark_create / bookmark_delete and tweets.selectors.bookmarked_tweets, the
calls the card's bookmark button and /bookmarks/ make. Bookmarks are private: the list takes no
username, so a token can only ever read its own user's."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from ninja import Router
from pydantic import Field

from api import cursors
from api.auth import authenticated, user_of
from api.models import Scope
from api.schemas import Page, Schema, TweetOut
from api.views.common import errors
from api.views.likes import missing
from api.views.params import Cursor, TweetId
from api.views.tweets import page_of
from tweets import selectors, services
from tweets.models import Tweet

router = Router(tags=["bookmarks"])

WRITE_ERRORS = errors(400, 403, 404, 422)


class BookmarkResult(Schema):
    bookmarked: bool
    changed: bool = Field(description="False when it was so already (both calls are idempotent).")


@router.put(
    "/tweets/{tweet_id}/bookmark", response={200: BookmarkResult, **WRITE_ERRORS}, auth=authenticated(Scope.WRITE)
)
def bookmark_tweet(request: HttpRequest, tweet_id: TweetId) -> dict[str, object]:
    """Bookmark a tweet, privately (nobody else ever sees it). Idempotent. 404 for a tweet that is
    gone or hidden; rate-limited (429). Nothing changes on a refusal."""
    try:
        changed = services.bookmark_create(user=user_of(request), tweet_id=tweet_id)
    except Tweet.DoesNotExist:
        raise missing() from None
    return {"bookmarked": True, "changed": changed}


@router.delete(
    "/tweets/{tweet_id}/bookmark", response={200: BookmarkResult, **WRITE_ERRORS}, auth=authenticated(Scope.WRITE)
)
def unbookmark_tweet(request: HttpRequest, tweet_id: TweetId) -> dict[str, object]:
    """Remove your bookmark. Idempotent; works for a tweet hidden since (your list stays yours to
    tidy); 404 when there was none and the tweet is gone or hidden; rate-limited (429)."""
    try:
        changed = services.bookmark_delete(user=user_of(request), tweet_id=tweet_id)
    except Tweet.DoesNotExist:
        raise missing() from None
    return {"bookmarked": False, "changed": changed}


@router.get("/me/bookmarks", response={200: Page[TweetOut], **errors(403, 422)}, auth=authenticated(Scope.READ))
def my_bookmarks(request: HttpRequest, cursor: Cursor = None) -> dict[str, object]:
    """Your bookmarks, most recently bookmarked first (as /bookmarks/). Yours only: there is no way
    to ask for anyone else's."""
    page = selectors.bookmarked_tweets(
        user_id=user_of(request).pk, before=cursors.before(cursor), limit=settings.TIMELINE_PAGE_SIZE
    )
    return page_of(request, page)
