"""Reposts and quote posts: repost / undo, and quote a tweet.

Over tweets.reposts.repost_create / repost_delete and tweets.services.tweet_create(quote_of=...),
the calls the card's Repost and Quote controls make: a repost of a repost reposts the original, who
may see what (a block either way is a 404 that reveals nothing), the shared tweet rate limit, the
fan-out and the original author's notification all live there. A repost is a tweet row of its own:
its id is the `entry_id` of the original's card in the home timeline and on profiles."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router, Status
from pydantic import Field

from api.auth import authenticated, user_of
from api.models import Scope
from api.problems import Problem
from api.schemas import ReplyIn, Schema, TweetOut
from api.views.common import errors
from api.views.likes import missing
from api.views.params import TweetId
from api.views.tweets import posted
from tweets import reposts
from tweets.models import Tweet

router = Router(tags=["reposts"])


class RepostResult(Schema):
    reposted: bool
    repost_id: int = Field(description="Your repost's own id (its entry_id in timelines); the same on a repeat.")


class UnrepostResult(Schema):
    reposted: bool
    changed: bool = Field(description="False when you had not reposted it (the call is idempotent).")


@router.put(
    "/tweets/{tweet_id}/repost",
    response={200: RepostResult, **errors(400, 403, 404, 409, 422)},
    auth=authenticated(Scope.WRITE),
)
def repost_tweet(request: HttpRequest, tweet_id: TweetId) -> dict[str, object]:
    """Repost a tweet to your followers (a repost's id reposts its original). Idempotent: a repeat
    answers the repost you made. Verified accounts only (403); 404 for a tweet that is gone or that
    you may not see; 409 when it was deleted while the repost was being made; rate-limited with
    tweets (429). Nothing is written on a refusal."""
    try:
        repost = reposts.repost_create(user=user_of(request), tweet_id=tweet_id)
    except Tweet.DoesNotExist:
        raise missing() from None
    except reposts.RepostRefused as refused:
        message = str(refused)
        raise Problem(409, message, kind="conflict", errors=[{"field": "tweet_id", "message": message}]) from None
    return {"reposted": True, "repost_id": repost.pk}


@router.delete(
    "/tweets/{tweet_id}/repost",
    response={200: UnrepostResult, **errors(400, 403, 422)},
    auth=authenticated(Scope.WRITE),
)
def unrepost_tweet(request: HttpRequest, tweet_id: TweetId) -> dict[str, object]:
    """Undo your repost (`tweet_id`: the original, or your repost's id): it leaves every timeline.
    Idempotent: `changed` false when there was nothing of yours to undo (only your own reposts
    are ever touched)."""
    return {"reposted": False, "changed": reposts.repost_delete(user=user_of(request), tweet_id=tweet_id)}


@router.post(
    "/tweets/{tweet_id}/quotes",
    response={201: TweetOut, **errors(400, 403, 404, 409, 422)},
    auth=authenticated(Scope.WRITE),
)
def quote_tweet(request: HttpRequest, tweet_id: TweetId, payload: ReplyIn) -> Status[dict[str, object]]:
    """Post a quote: a tweet of yours embedding this one (as POST /tweets with `quote_of`). 404 for
    a tweet that is gone or that you may not see; otherwise as posting a tweet (403 unverified,
    422 text, 429). Nothing is written on a refusal."""
    return posted(request, text=payload.text, in_reply_to=None, field="tweet_id", quote_of=tweet_id)
