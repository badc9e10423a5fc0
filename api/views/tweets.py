"""Tweets: post, read, delete, pin; tag lists, trending and search."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from ninja import Router, Status

from accounts.selectors import search_users
from api import cursors
from api.auth import authenticated, caller, public, user_of
from api.models import Scope
from api.problems import Problem
from api.schemas import Page, Person, TrendOut, TweetIn, TweetOut, person_out, trend_out, tweets_out
from api.views.common import errors
from api.views.params import Cursor, SearchQuery, TweetId
from follows.blocks import without_hidden
from follows.selectors import people_rows
from tweets import selectors, services, trends
from tweets.models import Tweet
from tweets.parsing import normalize_tag
from tweets.search import search_tweets
from tweets.views import PEOPLE_LIMIT, clean_query

router = Router(tags=["tweets"])


def card_of(request: HttpRequest, tweet_id: int) -> dict[str, object]:
    """One tweet as its page shows it (a repost's id shows its original), with the caller's marks."""
    try:
        card = selectors.tweet_card(tweet_id)
    except Tweet.DoesNotExist:
        raise Problem(404, "There is no such tweet (it may have been deleted).", kind="not-found") from None
    return tweets_out([card], viewer_id=caller(request).user_id)[0]


def page_of(request: HttpRequest, page: selectors.TweetPage) -> dict[str, object]:
    """A page of cards with the caller's likes and bookmarks, and its cursor: every tweet list."""
    items = tweets_out(page.items, viewer_id=caller(request).user_id, known=page.marks)
    return {"items": items, "next_cursor": cursors.next_cursor(page.next_cursor)}


def posted(
    request: HttpRequest, *, text: str, in_reply_to: int | None, field: str, quote_of: int | None = None
) -> Status[dict[str, object]]:
    """Post through tweets.services.tweet_create (the page's own call) and answer 201 with the card.
    A reply's refusals change nothing: a tweet the caller may not see (its author suspended, a
    block either way, which must not be revealed) is 404 like a missing one; a deleted one is 409
    on `field`, the parameter that named it. A quote of a tweet the caller may not see, or that is
    gone, is 404 (tweets.reposts.original_for cannot tell them apart)."""
    try:
        tweet = services.tweet_create(author=user_of(request), text=text, in_reply_to=in_reply_to, quote_of=quote_of)
    except Tweet.DoesNotExist:
        raise Problem(404, "There is no such tweet (it may have been deleted).", kind="not-found") from None
    except services.ReplyRefused as refused:
        message = str(refused)
        raise Problem(409, message, kind="conflict", errors=[{"field": field, "message": message}]) from None
    return Status(201, card_of(request, tweet.pk))


@router.post("/tweets", response={201: TweetOut, **errors(400, 403, 404, 409, 422)}, auth=authenticated(Scope.WRITE))
def create_tweet(request: HttpRequest, payload: TweetIn) -> Status[dict[str, object]]:
    """Post a tweet, with `in_reply_to` a reply, with `quote_of` a quote post (both at once: a
    quoting reply). Verified accounts only (403); the text is checked as on the page (422);
    rate-limited per user, replies and quotes included (429). A reply to a tweet you may not see is
    404, to a deleted one 409; a quote of a tweet you may not see or that is gone 404. It reaches
    followers' home timelines within moments (a reply to someone else only those who also follow
    that person)."""
    return posted(
        request, text=payload.text, in_reply_to=payload.in_reply_to, field="in_reply_to", quote_of=payload.quote_of
    )


@router.get("/tweets/{tweet_id}", response={200: TweetOut, **errors(404, 422)}, auth=public())
def get_tweet(request: HttpRequest, tweet_id: TweetId) -> dict[str, object]:
    """One tweet (a repost's id answers its original, with `reposted_by`)."""
    return card_of(request, tweet_id)


@router.delete(
    "/tweets/{tweet_id}", response={204: None, **errors(400, 403, 404, 422)}, auth=authenticated(Scope.WRITE)
)
def delete_tweet(request: HttpRequest, tweet_id: TweetId) -> HttpResponse:
    """Delete your own tweet (403 for anyone else's): it leaves every timeline."""
    try:
        services.tweet_delete(tweet_id=tweet_id, user=user_of(request))
    except Tweet.DoesNotExist:
        raise Problem(404, "There is no such tweet (it may have been deleted).", kind="not-found") from None
    return HttpResponse(status=204)


@router.put(
    "/tweets/{tweet_id}/pin", response={200: TweetOut, **errors(400, 403, 404, 422)}, auth=authenticated(Scope.WRITE)
)
def pin_tweet(request: HttpRequest, tweet_id: TweetId) -> dict[str, object]:
    """Pin your own tweet to your profile, unpinning any other. Idempotent."""
    try:
        services.tweet_pin(tweet_id=tweet_id, user=user_of(request))
    except Tweet.DoesNotExist:
        raise Problem(404, "There is no such tweet (it may have been deleted).", kind="not-found") from None
    return card_of(request, tweet_id)


@router.delete(
    "/tweets/{tweet_id}/pin", response={200: TweetOut, **errors(400, 403, 404, 422)}, auth=authenticated(Scope.WRITE)
)
def unpin_tweet(request: HttpRequest, tweet_id: TweetId) -> dict[str, object]:
    """Unpin your own tweet. Idempotent."""
    try:
        services.tweet_unpin(tweet_id=tweet_id, user=user_of(request))
    except Tweet.DoesNotExist:
        raise Problem(404, "There is no such tweet (it may have been deleted).", kind="not-found") from None
    return card_of(request, tweet_id)


@router.get("/tags/{tag}/tweets", response={200: Page[TweetOut], **errors(404, 422)}, auth=public())
def tagged_tweets(request: HttpRequest, tag: str, cursor: Cursor = None) -> dict[str, object]:
    """Tweets with #tag in any capitalisation, newest first (404 for a tag no tweet could carry)."""
    canonical = normalize_tag(tag)
    if canonical is None:
        raise Problem(404, "That is not a hashtag.", kind="not-found")
    return page_of(
        request,
        selectors.tweets_with_tag(tag=canonical, before=cursors.before(cursor), limit=settings.TIMELINE_PAGE_SIZE),
    )


@router.get("/trending", response={200: list[TrendOut], **errors()}, auth=public())
def trending(request: HttpRequest) -> list[dict[str, object]]:
    """The tags used most in the last hours, recent uses weighing more."""
    return [trend_out(trend) for trend in trends.ranked(limit=30)]


@router.get("/search/tweets", response={200: Page[TweetOut], **errors(422)}, auth=public())
def find_tweets(request: HttpRequest, q: SearchQuery = "", cursor: Cursor = None) -> dict[str, object]:
    """Tweets matching `q` (words ANDed, "phrases", or, -exclusions; @names find mentions), newest
    first, none by accounts with a block either way with you. Control characters are dropped and
    `q` is cut to 100 characters, as on the page."""
    query = clean_query(q)
    if not query:
        return {"items": [], "next_cursor": None}
    viewer_id = caller(request).user_id  # a block hides each from the other's searches, as on the page
    return page_of(
        request,
        search_tweets(query, before=cursors.before(cursor), limit=settings.TIMELINE_PAGE_SIZE, viewer_id=viewer_id),
    )


@router.get("/search/users", response={200: list[Person], **errors(422)}, auth=public())
def find_people(request: HttpRequest, q: SearchQuery = "") -> list[dict[str, object]]:
    """People whose username or name resembles `q`, best match first (at most 20, not paged); those
    you blocked, that blocked you or that you muted left out."""
    query = clean_query(q)
    viewer_id = caller(request).user_id
    people = without_hidden(viewer_id, search_users(query, limit=PEOPLE_LIMIT)) if query else []
    return [person_out(row) for row in people_rows(viewer_id=viewer_id, people=people)]
