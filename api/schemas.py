"""What the API returns and accepts, as pydantic models: the OpenAPI schema is generated from
these and from the operations' type hints, so it cannot drift from the code.

Rows are built from what the selectors return (tweet cards, people rows, inbox rows) by the small
`*_out` functions here, never by a second query."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from accounts.models import User, UserStats
from follows.selectors import Offer, PersonRow, RankedRow
from messaging.models import Message
from messaging.selectors import InboxRow
from tweethub.ids import MAX_ID
from tweets.cards import TweetCard
from tweets.selectors import Engagement, engagement_of
from tweets.trends import Trend

T = TypeVar("T")


class Schema(BaseModel):
    """Plain pydantic models, not ninja.Schema: the operations return dicts, and ninja's Schema wraps
    every input in an attribute getter (for ORM objects) that cost ~0.5 ms a page of 20 tweets."""

    model_config = ConfigDict(extra="ignore")


class ProblemOut(Schema):
    """RFC 9457 problem details (served as application/problem+json)."""

    type: str = Field(description='A URI naming the kind of problem, "about:blank" when the status says all.')
    title: str
    status: int
    detail: str
    errors: list[FieldError] | None = Field(default=None, description="Invalid fields (422 and 409 only).")


class FieldError(Schema):
    field: str = Field(description='The invalid field ("" when the error is about the request as a whole).')
    message: str


class Author(Schema):
    id: int
    username: str
    name: str
    avatar_url: str = Field(description='"" when the person has no avatar.')


class QuotedTweet(Schema):
    """The tweet a quote post embeds, in short."""

    id: int
    text: str
    created_at: datetime
    author: Author


class TweetOut(Schema):
    id: int = Field(description="53-bit, time-ordered: safe as a JSON number in every language.")
    text: str
    created_at: datetime
    author: Author
    entry_id: int = Field(
        description="The id this item holds its place in a list by: for a tweet reposted into the list the "
        "repost's id (what the list is ordered and paged by), otherwise the tweet's own id."
    )
    reposted_by: str | None = Field(
        description="The username of who reposted it into this list (home timeline, profiles); null if not a repost."
    )
    pinned: bool = Field(description="Pinned to the top of its author's profile.")
    reply_count: int = Field(description="Replies posted to it so far (deleted ones not counted).")
    in_reply_to: int | None = Field(description="The tweet it answers (which may be deleted since); null if none.")
    reply_to_user_id: int | None = Field(description="The author of the tweet it answers; null if not a reply.")
    reply_to_username: str | None = Field(
        description="That author's username when the reply was posted; null if not a reply."
    )
    conversation_root: int | None = Field(
        description="The first tweet of the conversation it belongs to; null for a tweet that starts one."
    )
    like_count: int
    repost_count: int
    liked: bool = Field(description="Whether you liked it (false for anonymous callers).")
    bookmarked: bool = Field(description="Whether you bookmarked it (false for anonymous callers).")
    quote_of: int | None = Field(description="The tweet it quotes; null if it is not a quote post.")
    quoted: QuotedTweet | None = Field(
        description="That tweet in short; null when not a quote, or when the quoted tweet was deleted since."
    )


class Profile(Author):
    bio: str
    location: str
    website: str
    followers: int
    following: int
    tweets: int
    followed_by_you: bool = Field(description="False for anonymous callers.")
    pinned_tweet: TweetOut | None = None


class Me(Profile):
    verified: bool = Field(description="Only verified accounts may tweet, follow and send messages.")
    dm_policy: str


class Person(Author):
    bio: str
    followed_by_you: bool


class Suggested(Person):
    why: str = Field(description='Why they are suggested, e.g. "Followed by @ann and @bob".')


class Page(Schema, Generic[T]):
    """One page of a list, newest first. Pass `next_cursor` back as ?cursor= for the next page:
    pages neither skip nor repeat an item, whatever is written in between; null on the last page."""

    items: list[T]
    next_cursor: str | None


class FollowResult(Schema):
    following: bool
    changed: bool = Field(description="False when it was so already (both calls are idempotent).")


class TweetIn(Schema):
    text: str = Field(max_length=10_000, description="1 to TWEET_MAX_LENGTH characters after trimming.")
    in_reply_to: int | None = Field(
        default=None, ge=1, le=MAX_ID, description="Post it as a reply to this tweet (as POST /tweets/{id}/replies)."
    )
    quote_of: int | None = Field(
        default=None, ge=1, le=MAX_ID, description="Post it as a quote of this tweet (as POST /tweets/{id}/quotes)."
    )


class ReplyIn(Schema):
    text: str = Field(max_length=10_000, description="1 to TWEET_MAX_LENGTH characters after trimming.")


class TrendOut(Schema):
    tag: str
    score: float = Field(description="Uses, each weighted by how recent it is (1.0 for a use this hour).")


class ConversationOut(Schema):
    id: int
    other: Author = Field(description="The person you are talking with.")
    last_message: MessageOut
    unread: int = Field(description="Their messages you have not read yet.")


class MessageOut(Schema):
    id: int
    sender: str = Field(description="The sender's username.")
    text: str
    created_at: datetime


class MessageIn(Schema):
    text: str = Field(max_length=10_000, description="1 to 1000 characters after trimming.")


class ReadResult(Schema):
    changed: bool


class TokenIn(Schema):
    name: str = Field(max_length=200)
    scopes: list[str] = Field(max_length=10, description="Any of: read, write, messages.")


class TokenOut(Schema):
    id: int
    name: str
    hint: str = Field(description="The token's first characters, to tell tokens apart.")
    scopes: list[str]
    created_at: datetime
    last_used_at: datetime | None


class NewToken(TokenOut):
    token: str = Field(description="The secret: shown this once, never stored (only its SHA-256 is).")


ProblemOut.model_rebuild()
ConversationOut.model_rebuild()


# --- Shaping selector rows -----------------------------------------------------------------------


def tweet_out(card: TweetCard, engagement: Engagement | None = None) -> dict[str, object]:
    """One card as the API shows it; `engagement` from `tweets_out` (None: the card's like count,
    and not liked or bookmarked, as for a visitor)."""
    author = card.author
    marks = engagement or Engagement(likes=card.like_count)
    quoted = card.quoted
    return {
        "id": card.id,
        "text": card.text,
        "created_at": card.created_at,
        "author": {"id": author.id, "username": author.username, "name": author.name, "avatar_url": author.avatar_url},
        "entry_id": card.entry,
        "reposted_by": card.reposted_by.username if card.reposted_by is not None else None,
        "pinned": card.pinned,
        "reply_count": card.reply_count,
        "in_reply_to": card.in_reply_to,
        "reply_to_user_id": card.reply_to_author_id,
        "reply_to_username": card.reply_to_username if card.in_reply_to is not None else None,
        "conversation_root": card.conversation_root,
        "like_count": marks.likes,
        "repost_count": card.repost_count,
        "liked": marks.liked,
        "bookmarked": marks.bookmarked,
        "quote_of": card.quote_of,
        "quoted": None if quoted is None else {
            "id": quoted.id, "text": quoted.text, "created_at": quoted.created_at,
            "author": {"id": quoted.author.id, "username": quoted.author.username, "name": quoted.author.name,
                       "avatar_url": quoted.author.avatar_url},
        },
    }  # fmt: skip


def tweets_out(
    cards: Sequence[TweetCard], *, viewer_id: int | None, known: Mapping[int, tuple[bool, bool]] | None = None
) -> list[dict[str, object]]:
    """A list of cards with the caller's likes and bookmarks: tweets.selectors.engagement_of, the
    pages' own call (no query for a visitor, nor when `known`, the home read's marks, covers all;
    otherwise ONE query for the list)."""
    engagement = engagement_of(viewer_id=viewer_id, cards=cards, known=known) if cards else {}
    return [tweet_out(card, engagement.get(card.id)) for card in cards]


def author_out(user: User) -> dict[str, object]:
    return {"id": user.pk, "username": user.username, "name": user.name, "avatar_url": user.avatar_url}


def profile_out(
    user: User, stats: UserStats, *, followed: bool, pinned: TweetCard | None, viewer_id: int | None = None
) -> dict[str, object]:
    return {
        **author_out(user),
        "bio": user.bio, "location": user.location, "website": user.website,
        "followers": stats.followers, "following": stats.following, "tweets": stats.tweets,
        "followed_by_you": followed, "pinned_tweet": tweets_out([pinned], viewer_id=viewer_id)[0] if pinned else None,
    }  # fmt: skip


def person_out(row: PersonRow | RankedRow) -> dict[str, object]:
    return {**author_out(row.person), "bio": row.person.bio, "followed_by_you": row.is_following}


def suggested_out(offer: Offer) -> dict[str, object]:
    return {**author_out(offer.person), "bio": offer.person.bio, "followed_by_you": False, "why": offer.note}


def ranked_out(row: RankedRow) -> dict[str, object]:
    return {**person_out(row), "why": row.note}


def trend_out(trend: Trend) -> dict[str, object]:
    return {"tag": trend.tag, "score": trend.score}


def message_out(message: Message, *, usernames: dict[int, str]) -> dict[str, object]:
    return {
        "id": message.pk,
        "sender": usernames[message.sender_id],
        "text": message.text,
        "created_at": message.created_at,
    }


def conversation_out(row: InboxRow) -> dict[str, object]:
    conversation = row.conversation
    usernames = {
        conversation.user_low_id: conversation.user_low.username,
        conversation.user_high_id: conversation.user_high.username,
    }
    return {
        "id": conversation.pk,
        "other": author_out(row.other),
        "last_message": message_out(row.last_message, usernames=usernames),
        "unread": row.unread,
    }
