"""Replies and threads: answer a tweet, read a tweet's thread, a person's tweets and replies.

Over tweets.services.tweet_create and tweets.selectors.thread / tweets_by_author, the calls the
tweet page and the profile's "Tweets & replies" tab make: which replies a viewer sees (blocks either
way and mutes hidden), a deleted tweet's placeholder, the ancestors shown, all live there."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from ninja import Router, Status
from pydantic import Field

from api import cursors
from api.auth import authenticated, caller, public
from api.models import Scope
from api.problems import Problem
from api.schemas import Page, ReplyIn, Schema, TweetOut, tweets_out
from api.views.common import errors, person
from api.views.params import Cursor, TweetId, Username
from api.views.tweets import page_of, posted
from tweets import selectors
from tweets.models import Tweet

router = Router(tags=["replies"])


class ThreadTweet(Schema):
    id: int
    tweet: TweetOut | None = Field(description="null: deleted since (the thread keeps its place).")


class ThreadOut(Schema):
    """A tweet's thread. `items` are its replies OLDEST first; pass `next_cursor` back as ?cursor=
    for later ones (null on the last page). `ancestors` are on the first page only."""

    tweet_id: int
    tweet: TweetOut | None = Field(description="null: deleted, but it has replies, which stay readable.")
    ancestors: list[ThreadTweet] = Field(
        description="The tweets it answers, the conversation's first one first (at most 30)."
    )
    items: list[TweetOut]
    next_cursor: str | None


@router.post(
    "/tweets/{tweet_id}/replies",
    response={201: TweetOut, **errors(400, 403, 404, 409, 422)},
    auth=authenticated(Scope.WRITE),
)
def reply_to_tweet(request: HttpRequest, tweet_id: TweetId, payload: ReplyIn) -> Status[dict[str, object]]:
    """Reply to a tweet, as the tweet page's reply box. 404 when you may not see it (a block either
    way, its author suspended) or it never was; 409 when it was deleted; otherwise as posting a
    tweet (403 unverified, 422 text, 429). Nothing is written on a refusal."""
    return posted(request, text=payload.text, in_reply_to=tweet_id, field="tweet_id")


@router.get("/tweets/{tweet_id}/thread", response={200: ThreadOut, **errors(404, 422)}, auth=public())
def tweet_thread(request: HttpRequest, tweet_id: TweetId, cursor: Cursor = None) -> dict[str, object]:
    """A tweet, the tweets it answers and its replies, oldest first, as its page shows them: replies
    by accounts you blocked, that blocked you or that you muted are left out. A deleted tweet with
    replies answers with `tweet` null; without replies 404."""
    after = cursors.after(cursor)
    try:
        thread = selectors.thread(
            tweet_id=tweet_id, viewer_id=caller(request).user_id, after=after, limit=settings.REPLIES_PAGE_SIZE
        )
    except Tweet.DoesNotExist:
        raise Problem(404, "There is no such tweet (it may have been deleted).", kind="not-found") from None
    # The caller's likes and bookmarks of the whole thread in one go (one query for a member).
    shown = [card for card in [thread.tweet, *(item.card for item in thread.ancestors)] if card is not None]
    rows = tweets_out([*shown, *thread.replies.items], viewer_id=caller(request).user_id)
    by_id = {card.id: row for card, row in zip(shown, rows, strict=False)}
    return {
        "tweet_id": tweet_id,
        "tweet": by_id[thread.tweet.id] if thread.tweet is not None else None,
        "ancestors": [
            {"id": item.tweet_id, "tweet": by_id[item.card.id] if item.card is not None else None}
            for item in thread.ancestors
        ],
        "items": rows[len(shown) :],
        "next_cursor": cursors.next_after(thread.replies.next_cursor),
    }


@router.get("/users/{username}/tweets-and-replies", response={200: Page[TweetOut], **errors(404, 422)}, auth=public())
def user_tweets_and_replies(request: HttpRequest, username: Username, cursor: Cursor = None) -> dict[str, object]:
    """A person's tweets and their replies to others, newest first: the profile's "Tweets &
    replies" tab (/users/{username}/tweets leaves replies to others out)."""
    user = person(username)
    page = selectors.tweets_by_author(
        author_id=user.pk,
        before=cursors.before(cursor),
        limit=settings.TIMELINE_PAGE_SIZE,
        with_replies=True,
        viewer_id=caller(request).user_id,
    )
    return page_of(request, page)
