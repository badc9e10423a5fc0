"""The home timeline and discovery (who to follow, the two-hop lists)."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from ninja import Router

from api import cursors
from api.auth import authenticated, user_of
from api.models import Scope
from api.schemas import Page, Suggested, TweetOut, ranked_out, suggested_out
from api.views.common import errors
from api.views.params import Cursor
from api.views.tweets import page_of
from follows import selectors as follow_selectors
from timelines.repairs import queue_list_build, queue_rebuild, queue_repair
from timelines.selectors import home_timeline

router = Router(tags=["timelines"])


@router.get("/timelines/home", response={200: Page[TweetOut], **errors(403, 422)}, auth=authenticated(Scope.READ))
def home(request: HttpRequest, cursor: Cursor = None) -> dict[str, object]:
    """Your tweets and those of the people you follow, newest first: the home page's timeline, read
    the same way (one Redis round trip when warm, continuing in Postgres past the feed's end). A
    repost is its original's tweet with `reposted_by`, placed (and paged) by its `entry_id`; the
    cursor is an entry id, so pages neither skip nor repeat around reposts."""
    page = home_timeline(
        user_id=user_of(request).pk,
        before=cursors.before(cursor),
        limit=settings.TIMELINE_PAGE_SIZE,
        on_missing_feed=queue_rebuild,
        on_stale_ids=queue_repair,
        on_missing_list=queue_list_build,
    )
    return page_of(request, page)


@router.get("/discover/who-to-follow", response={200: list[Suggested], **errors(403)}, auth=authenticated(Scope.READ))
def who_to_follow(request: HttpRequest) -> list[dict[str, object]]:
    """People you may know (followed by people you follow), then the most followed accounts."""
    offers = follow_selectors.who_to_follow(viewer_id=user_of(request).pk, limit=settings.DISCOVER_SUGGESTIONS)
    return [suggested_out(offer) for offer in offers]


@router.get(
    "/discover/friends-of-friends", response={200: Page[Suggested], **errors(403, 422)}, auth=authenticated(Scope.READ)
)
def friends_of_friends(request: HttpRequest, cursor: Cursor = None) -> dict[str, object]:
    """Everyone the people you follow follow, ranked by how many of them do."""
    page = follow_selectors.friends_of_friends_page(
        viewer_id=user_of(request).pk, after=cursors.after_rank(cursor), limit=settings.TIMELINE_PAGE_SIZE
    )
    return {"items": [ranked_out(row) for row in page.items], "next_cursor": cursors.next_cursor(page.next_cursor)}


@router.get(
    "/discover/followers-of-followers",
    response={200: Page[Suggested], **errors(403, 422)},
    auth=authenticated(Scope.READ),
)
def followers_of_followers(request: HttpRequest, cursor: Cursor = None) -> dict[str, object]:
    """Everyone who follows your followers, ranked by how many of your followers they follow."""
    page = follow_selectors.followers_of_followers_page(
        viewer_id=user_of(request).pk, after=cursors.after_rank(cursor), limit=settings.TIMELINE_PAGE_SIZE
    )
    return {"items": [ranked_out(row) for row in page.items], "next_cursor": cursors.next_cursor(page.next_cursor)}
