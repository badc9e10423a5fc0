"""The access matrix: every route that reaches someone's own things, tried as its owner, as another
member and as an anonymous visitor.

The owner must get it (the row looks at the right thing); the others get a refusal or their own
version of the page, never a byte of the owner's private content, and change nothing of the
owner's. A GET by a non-owner, and anything by an anonymous visitor, changes nothing at all in the
database. The websocket rows do the same over /ws/.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlencode

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.testing.websocket import WebsocketCommunicator
from django.conf import settings
from django.test import Client
from pytest_django import Settings

from accounts.consumers import CLOSE_UNAUTHENTICATED
from accounts.models import User
from follows.models import Block, Follow, Mute
from messaging.models import Conversation, Message
from messaging.services import message_send
from moderation.models import Report
from notifications.models import Notification
from tests.security.conftest import (
    ALICE_POSITION,
    CAROLS_TWEET,
    DELETED_TWEET,
    DM_FROM_CAROL,
    DM_TO_CAROL,
    MAIL_BODY,
    MAIL_HTML,
    MAIL_SUBJECT,
    REPORT_NOTE,
    World,
    build_world,
    database_fingerprint,
    fingerprint_diff,
    logged_in,
)
from tweethub.asgi import application
from tweets.models import Bookmark, Like, Tweet

Role = Literal["owner", "other", "anonymous"]
ROLES: tuple[Role, ...] = ("owner", "other", "anonymous")
LOGIN = "login"  # expected: 302 to the login page
FOUND, OK, FORBIDDEN, NOT_FOUND, NOT_ALLOWED = 302, 200, 403, 404, 405

# What no page may ever show anyone but Alice: her messages, her mail, her coordinates (formatted
# as the settings form would). Her deleted tweet shows to nobody, Alice included.
ALICE_COORDINATES = [f"{value:g}" for value in ALICE_POSITION]
ALICE_PRIVATE = [DM_TO_CAROL, DM_FROM_CAROL, MAIL_SUBJECT, MAIL_BODY, MAIL_HTML, *ALICE_COORDINATES]


def _alice_tweets(world: World) -> object:
    return sorted(Tweet.objects.filter(author=world.alice).values_list("id", "pinned", "text"))


def _alice_follows(world: World) -> object:
    return sorted(Follow.objects.filter(follower=world.alice).values_list("followee_id", flat=True))


def _alice_relations(world: World) -> object:
    blocked = sorted(Block.objects.filter(blocker=world.alice).values_list("blocked_id", flat=True))
    muted = sorted(Mute.objects.filter(muter=world.alice).values_list("muted_id", flat=True))
    return blocked, muted


def _replies_by_alice(world: World) -> object:
    return sorted(Tweet.objects.filter(author=world.alice, in_reply_to__isnull=False).values_list("id", flat=True))


def _reposts_and_quotes_by_alice(world: World) -> object:
    mine = Tweet.objects.filter(author=world.alice).exclude(repost_of__isnull=True, quote_of__isnull=True)
    return sorted(mine.values_list("id", "repost_of", "quote_of"))


def _alice_conversation(world: World) -> object:
    conversation = Conversation.objects.get(pk=world.conversation.pk)
    texts = list(Message.objects.filter(conversation=conversation).order_by("id").values_list("text", flat=True))
    return texts, conversation.low_last_read_id, conversation.high_last_read_id


def _report_state(world: World) -> object:
    return Report.objects.get(pk=world.report_id).status


def _bob_state(world: World) -> object:
    return User.objects.get(pk=world.bob.pk).is_active, Tweet.objects.filter(pk=world.bobs_tweet_id).exists()


def _alice_marks(world: World) -> object:
    likes = sorted(Like.objects.filter(user=world.alice).values_list("tweet_id", flat=True))
    return likes, sorted(Bookmark.objects.filter(user=world.alice).values_list("tweet_id", flat=True))


def _alice_unread(world: World) -> object:
    return sorted(Notification.objects.filter(recipient=world.alice, unread=True).values_list("id", flat=True))


def _mallory_state(world: World) -> object:
    return User.objects.get(pk=world.mallory.pk).is_active


def _reports_by_alice(world: World) -> object:
    return list(Report.objects.filter(reporter=world.alice).values_list("kind", "message_id"))


def _dm_from_carol(world: World) -> int:
    return Message.objects.get(text=DM_FROM_CAROL).pk


def _alice_account(world: World) -> object:
    user = User.objects.get(pk=world.alice.pk)
    return user.name, user.bio, user.dm_policy, user.latitude, user.longitude, user.password


@dataclass(frozen=True)
class Row:
    name: str
    method: str
    url: Callable[[World], str]
    expect: dict[Role, int | str]
    owner: Literal["alice", "staff"] = "alice"
    data: dict[str, str] = field(default_factory=dict)
    # Shown to the owner (so the row really looks at the owner's thing), and to nobody else.
    private: Callable[[World], list[str]] = lambda world: []
    # The owner's data this route could change: the owner's POST changes it, nobody else's does.
    owner_state: Callable[[World], object] | None = None
    # Whether another member's request may change their *own* rows (their settings, their follows,
    # their own conversation with the same person). Alice's stay as they were either way.
    other_writes_own: bool = False
    # Shown to nobody, the owner included (besides Alice's deleted tweet, which no row may show).
    hidden_from_all: Callable[[World], list[str]] = lambda world: []
    demo_mode: bool = True

    def __str__(self) -> str:
        return self.name


def _delete_action(world: World) -> list[str]:
    return [f"/tweets/{world.tweet.pk}/delete/"]


ROWS = [
    # Tweets: public to read; only the author may delete, pin or unpin, or see those buttons.
    Row("tweet delete", "POST", lambda w: f"/tweets/{w.tweet.pk}/delete/",
        {"owner": FOUND, "other": FORBIDDEN, "anonymous": LOGIN}, owner_state=_alice_tweets),
    Row("tweet pin", "POST", lambda w: f"/tweets/{w.tweet.pk}/pin/",
        {"owner": FOUND, "other": FORBIDDEN, "anonymous": LOGIN}, owner_state=_alice_tweets),
    Row("tweet unpin", "POST", lambda w: f"/tweets/{w.pinned.pk}/unpin/",
        {"owner": FOUND, "other": FORBIDDEN, "anonymous": LOGIN}, owner_state=_alice_tweets),
    Row("tweet page: owner actions", "GET", lambda w: f"/tweets/{w.tweet.pk}/",
        {"owner": OK, "other": OK, "anonymous": OK}, private=_delete_action),
    Row("profile: owner actions", "GET", lambda w: "/@alice/",
        {"owner": OK, "other": OK, "anonymous": OK}, private=_delete_action),
    Row("deleted tweet page", "GET", lambda w: f"/tweets/{w.deleted_tweet_id}/",
        {"owner": NOT_FOUND, "other": NOT_FOUND, "anonymous": NOT_FOUND}),
    # Direct messages.
    Row("inbox", "GET", lambda w: "/messages/",
        {"owner": OK, "other": OK, "anonymous": LOGIN}, private=lambda w: [DM_FROM_CAROL]),
    Row("conversation by username", "GET", lambda w: "/messages/carol/",
        {"owner": OK, "other": OK, "anonymous": LOGIN}, private=lambda w: [DM_TO_CAROL, DM_FROM_CAROL]),
    Row("conversation permalink", "GET", lambda w: f"/messages/c/{w.conversation.pk}/",
        {"owner": FOUND, "other": NOT_FOUND, "anonymous": LOGIN}),
    Row("conversation permalink POST", "POST", lambda w: f"/messages/c/{w.conversation.pk}/",
        {"owner": NOT_ALLOWED, "other": NOT_ALLOWED, "anonymous": LOGIN},
        data={"text": "into someone else's conversation"}, owner_state=_alice_conversation),
    Row("send message", "POST", lambda w: "/messages/carol/",
        {"owner": FOUND, "other": FOUND, "anonymous": LOGIN},
        data={"text": "hello from the matrix"}, owner_state=_alice_conversation, other_writes_own=True),
    Row("inbox ?to=", "GET", lambda w: "/messages/?to=carol",
        {"owner": FOUND, "other": FOUND, "anonymous": LOGIN}),
    # Captured mail (DEMO_MODE: a browser sees the mail of accounts it signed up or logged into).
    Row("mail inbox", "GET", lambda w: "/admin/mails/",
        {"owner": OK, "other": OK, "anonymous": OK}, private=lambda w: [MAIL_SUBJECT]),
    Row("mail inbox ?to=alice", "GET", lambda w: "/admin/mails/?to=alice",
        {"owner": OK, "other": OK, "anonymous": OK}, private=lambda w: [MAIL_SUBJECT]),
    Row("mail detail", "GET", lambda w: f"/admin/mails/{w.mail.pk}/",
        {"owner": OK, "other": NOT_FOUND, "anonymous": NOT_FOUND}, private=lambda w: [MAIL_SUBJECT, MAIL_BODY]),
    Row("mail html body", "GET", lambda w: f"/admin/mails/{w.mail.pk}/html/",
        {"owner": OK, "other": NOT_FOUND, "anonymous": NOT_FOUND}, private=lambda w: [MAIL_HTML]),
    Row("mail inbox, no demo mode", "GET", lambda w: "/admin/mails/",
        {"owner": OK, "other": NOT_FOUND, "anonymous": NOT_FOUND}, owner="staff",
        private=lambda w: [MAIL_SUBJECT], demo_mode=False),
    Row("mail detail, no demo mode", "GET", lambda w: f"/admin/mails/{w.mail.pk}/",
        {"owner": OK, "other": NOT_FOUND, "anonymous": NOT_FOUND}, owner="staff",
        private=lambda w: [MAIL_BODY], demo_mode=False),
    # Settings: always the viewer's own; the owner's values never show on anyone else's.
    Row("settings profile", "GET", lambda w: "/settings/profile/",
        {"owner": OK, "other": OK, "anonymous": LOGIN}, private=lambda w: [w.alice.bio]),
    Row("settings profile POST", "POST", lambda w: "/settings/profile/",
        {"owner": FOUND, "other": FOUND, "anonymous": LOGIN},
        data={"name": "Renamed", "bio": "rewritten", "dm_policy": "following"},
        owner_state=_alice_account, other_writes_own=True),
    Row("settings location", "GET", lambda w: "/settings/location/",
        {"owner": OK, "other": OK, "anonymous": LOGIN},
        private=lambda w: [f'value="{value:g}"' for value in ALICE_POSITION]),
    Row("settings location POST", "POST", lambda w: "/settings/location/",
        {"owner": FOUND, "other": FOUND, "anonymous": LOGIN},
        data={"latitude": "1.5", "longitude": "2.5"}, owner_state=_alice_account, other_writes_own=True),
    Row("settings location stop", "POST", lambda w: "/settings/location/stop/",
        {"owner": FOUND, "other": FOUND, "anonymous": LOGIN}, owner_state=_alice_account, other_writes_own=True),
    # Admin panel: public aggregates in demo mode, names for staff only; otherwise staff only.
    Row("admin panel", "GET", lambda w: "/admin/",
        {"owner": OK, "other": OK, "anonymous": OK}, owner="staff", private=lambda w: ["@alice", "@carol"]),
    Row("admin figures.json", "GET", lambda w: "/admin/figures.json",
        {"owner": OK, "other": OK, "anonymous": OK}, owner="staff"),
    Row("admin panel, no demo mode", "GET", lambda w: "/admin/",
        {"owner": OK, "other": NOT_FOUND, "anonymous": NOT_FOUND}, owner="staff",
        private=lambda w: ["@alice", "@carol"], demo_mode=False),
    Row("admin figures.json, no demo mode", "GET", lambda w: "/admin/figures.json",
        {"owner": OK, "other": NOT_FOUND, "anonymous": NOT_FOUND}, owner="staff", demo_mode=False),
    # Moderation. Reporting a message: only a participant of its conversation may, or see it there.
    Row("report message", "GET", lambda w: f"/report/message/{_dm_from_carol(w)}/",
        {"owner": OK, "other": NOT_FOUND, "anonymous": LOGIN}, private=lambda w: [DM_FROM_CAROL]),
    Row("report message POST", "POST", lambda w: f"/report/message/{_dm_from_carol(w)}/",
        {"owner": FOUND, "other": NOT_FOUND, "anonymous": LOGIN}, data={"reason": "abuse"},
        owner_state=_reports_by_alice),
    # The staff pages: 404 to members (nothing says they exist), the login page to visitors.
    Row("moderation queue", "GET", lambda w: "/admin/moderation/",
        {"owner": OK, "other": NOT_FOUND, "anonymous": LOGIN}, owner="staff", private=lambda w: [REPORT_NOTE]),
    Row("moderation log", "GET", lambda w: "/admin/moderation/log/",
        {"owner": OK, "other": NOT_FOUND, "anonymous": LOGIN}, owner="staff", private=lambda w: ["@mallory"]),
    Row("staff user list", "GET", lambda w: "/admin/users/?q=alice",
        {"owner": OK, "other": NOT_FOUND, "anonymous": LOGIN}, owner="staff", private=lambda w: [w.alice.email]),
    Row("dismiss report", "POST", lambda w: f"/admin/moderation/reports/{w.report_id}/dismiss/",
        {"owner": FOUND, "other": NOT_FOUND, "anonymous": LOGIN}, owner="staff", owner_state=_report_state),
    Row("staff tweet delete", "POST", lambda w: f"/admin/moderation/tweets/{w.bobs_tweet_id}/delete/",
        {"owner": FOUND, "other": NOT_FOUND, "anonymous": LOGIN}, owner="staff", owner_state=_bob_state),
    Row("suspend", "POST", lambda w: f"/admin/users/{w.bob.pk}/suspend/",
        {"owner": FOUND, "other": NOT_FOUND, "anonymous": LOGIN}, owner="staff", owner_state=_bob_state),
    Row("unsuspend", "POST", lambda w: f"/admin/users/{w.mallory.pk}/unsuspend/",
        {"owner": FOUND, "other": NOT_FOUND, "anonymous": LOGIN}, owner="staff", owner_state=_mallory_state),
    # Discovery: each page is the viewer's own; nobody's coordinates, ever.
    Row("discover", "GET", lambda w: "/discover/",
        {"owner": OK, "other": OK, "anonymous": LOGIN}, private=lambda w: ["@dave"]),
    Row("discover nearby", "GET", lambda w: "/discover/nearby/",
        {"owner": OK, "other": OK, "anonymous": LOGIN}, hidden_from_all=lambda w: ALICE_COORDINATES),
    Row("discover following", "GET", lambda w: "/discover/following/",
        {"owner": OK, "other": OK, "anonymous": LOGIN}, private=lambda w: ["@carol"]),
    Row("discover followers", "GET", lambda w: "/discover/followers/",
        {"owner": OK, "other": OK, "anonymous": LOGIN}, private=lambda w: ["@carol"]),
    Row("discover friends-of-friends", "GET", lambda w: "/discover/friends-of-friends/",
        {"owner": OK, "other": OK, "anonymous": LOGIN}, private=lambda w: ["@dave"]),
    Row("discover followers-of-followers", "GET", lambda w: "/discover/followers-of-followers/",
        {"owner": OK, "other": OK, "anonymous": LOGIN}, private=lambda w: ["@dave"]),
    # Follows: always the viewer's own.
    Row("follow", "POST", lambda w: "/@erin/follow/",
        {"owner": FOUND, "other": FOUND, "anonymous": LOGIN}, owner_state=_alice_follows, other_writes_own=True),
    Row("unfollow", "POST", lambda w: "/@carol/unfollow/",
        {"owner": FOUND, "other": FOUND, "anonymous": LOGIN}, owner_state=_alice_follows, other_writes_own=True),
    # Replies: anyone may answer a tweet they may see, as themselves only.
    Row("reply", "POST", lambda w: f"/tweets/{w.bobs_tweet_id}/reply/",
        {"owner": FOUND, "other": FOUND, "anonymous": LOGIN}, data={"text": "an answer from the matrix"},
        owner_state=_replies_by_alice, other_writes_own=True),
    Row("reply to a deleted tweet", "POST", lambda w: f"/tweets/{w.deleted_tweet_id}/reply/",
        {"owner": 400, "other": 400, "anonymous": LOGIN}, data={"text": "too late"},
        owner_state=_replies_by_alice),
    # Reposts and quotes: anyone may repost or quote a tweet they may see, as themselves only; an
    # undo undoes only one's own repost (Bob has none of Carol's tweet: nothing happens).
    Row("repost", "POST", lambda w: f"/tweets/{w.bobs_tweet_id}/repost/",
        {"owner": FOUND, "other": FOUND, "anonymous": LOGIN},
        owner_state=_reposts_and_quotes_by_alice, other_writes_own=True),
    Row("unrepost", "POST", lambda w: f"/tweets/{w.carols_tweet_id}/unrepost/",
        {"owner": FOUND, "other": FOUND, "anonymous": LOGIN},
        owner_state=_reposts_and_quotes_by_alice, other_writes_own=True),
    Row("repost, asking", "GET", lambda w: f"/tweets/{w.bobs_tweet_id}/repost/",
        {"owner": OK, "other": OK, "anonymous": LOGIN}),
    Row("unrepost, asking", "GET", lambda w: f"/tweets/{w.carols_tweet_id}/unrepost/",
        {"owner": OK, "other": OK, "anonymous": LOGIN}),
    Row("repost a deleted tweet", "POST", lambda w: f"/tweets/{w.deleted_tweet_id}/repost/",
        {"owner": NOT_FOUND, "other": NOT_FOUND, "anonymous": LOGIN}, owner_state=_reposts_and_quotes_by_alice),
    Row("quote box", "GET", lambda w: f"/tweets/{w.bobs_tweet_id}/quote/",
        {"owner": OK, "other": OK, "anonymous": LOGIN}),
    Row("quote", "POST", lambda w: f"/tweets/{w.bobs_tweet_id}/quote/",
        {"owner": FOUND, "other": FOUND, "anonymous": LOGIN}, data={"text": "a quote from the matrix"},
        owner_state=_reposts_and_quotes_by_alice, other_writes_own=True),
    Row("quote a deleted tweet", "GET", lambda w: f"/tweets/{w.deleted_tweet_id}/quote/",
        {"owner": NOT_FOUND, "other": NOT_FOUND, "anonymous": LOGIN}),
    # Blocks and mutes: always the viewer's own lists; nobody sees anyone else's.
    Row("block", "POST", lambda w: "/@erin/block/",
        {"owner": FOUND, "other": FOUND, "anonymous": LOGIN}, owner_state=_alice_relations, other_writes_own=True),
    Row("unblock", "POST", lambda w: "/@grace/unblock/",
        {"owner": FOUND, "other": FOUND, "anonymous": LOGIN}, owner_state=_alice_relations, other_writes_own=True),
    Row("mute", "POST", lambda w: "/@erin/mute/",
        {"owner": FOUND, "other": FOUND, "anonymous": LOGIN}, owner_state=_alice_relations, other_writes_own=True),
    Row("unmute", "POST", lambda w: "/@grace/unmute/",
        {"owner": FOUND, "other": FOUND, "anonymous": LOGIN}, owner_state=_alice_relations, other_writes_own=True),
    Row("settings blocked", "GET", lambda w: "/settings/blocked/",
        {"owner": OK, "other": OK, "anonymous": LOGIN}, private=lambda w: ["@grace"]),
    Row("settings muted", "GET", lambda w: "/settings/muted/",
        {"owner": OK, "other": OK, "anonymous": LOGIN}, private=lambda w: ["@grace"]),
    # Likes and bookmarks (issue 21): always the viewer's own; bookmarks seen by their owner only.
    Row("like", "POST", lambda w: f"/tweets/{w.tweet.pk}/like/",
        {"owner": FOUND, "other": FOUND, "anonymous": LOGIN}, owner_state=_alice_marks, other_writes_own=True),
    Row("unlike", "POST", lambda w: f"/tweets/{w.carols_tweet_id}/unlike/",
        {"owner": FOUND, "other": FOUND, "anonymous": LOGIN}, owner_state=_alice_marks, other_writes_own=True),
    Row("bookmark", "POST", lambda w: f"/tweets/{w.tweet.pk}/bookmark/",
        {"owner": FOUND, "other": FOUND, "anonymous": LOGIN}, owner_state=_alice_marks, other_writes_own=True),
    Row("unbookmark", "POST", lambda w: f"/tweets/{w.carols_tweet_id}/unbookmark/",
        {"owner": FOUND, "other": FOUND, "anonymous": LOGIN}, owner_state=_alice_marks, other_writes_own=True),
    Row("bookmarks", "GET", lambda w: "/bookmarks/",
        {"owner": OK, "other": OK, "anonymous": LOGIN}, private=lambda w: [CAROLS_TWEET]),
    Row("like a deleted tweet", "POST", lambda w: f"/tweets/{w.deleted_tweet_id}/like/",
        {"owner": NOT_FOUND, "other": NOT_FOUND, "anonymous": LOGIN}),
    Row("likes tab", "GET", lambda w: "/@alice/likes/",
        {"owner": OK, "other": OK, "anonymous": OK}),
    # Notifications (issue 21): the page and "mark all read" are always the viewer's own.
    Row("notifications", "GET", lambda w: "/notifications/",
        {"owner": OK, "other": OK, "anonymous": LOGIN}, private=lambda w: ["followed you"]),
    Row("notifications mark all read", "POST", lambda w: "/notifications/read/",
        {"owner": FOUND, "other": FOUND, "anonymous": LOGIN}, owner_state=_alice_unread, other_writes_own=True),
]  # fmt: skip


def _client(role: Role, row: Row, world: World) -> Client:
    if role == "anonymous":
        return Client()
    owner = world.alice if row.owner == "alice" else world.staff
    return logged_in(owner if role == "owner" else world.bob)


def _check_status(role: Role, row: Row, status: int, location: str) -> None:
    expected = row.expect[role]
    if expected == LOGIN:
        assert status == FOUND, (status, location)
        assert location.startswith("/accounts/login/?next="), location
    else:
        assert status == expected, (status, location)


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("row", ROWS, ids=str)
def test_access_matrix(row: Row, role: Role, world: World, settings: Settings) -> None:
    settings.DEMO_MODE = row.demo_mode
    client = _client(role, row, world)
    client.get("/livez")  # last_active written now, not by the request under test
    owner_before = row.owner_state(world) if row.owner_state else None
    before = database_fingerprint()

    response = client.generic(
        row.method, row.url(world), data=urlencode(row.data), content_type="application/x-www-form-urlencoded"
    )
    seen = response.content.decode() + response.headers.get("Location", "")
    _check_status(role, row, response.status_code, response.headers.get("Location", ""))

    private = row.private(world)
    for text in [DELETED_TWEET, *row.hidden_from_all(world)]:
        assert text not in seen, f"{role} sees {text!r}"
    if role == "owner":
        for text in private:
            assert text in seen, f"the owner does not see {text!r}: the row tests nothing"
        if row.owner_state and row.expect["owner"] == FOUND:
            assert row.owner_state(world) != owner_before, "the owner's request changed nothing"
        return
    for text in [*private, *ALICE_PRIVATE]:
        assert text not in seen, f"{role} sees {text!r}"
    if row.owner_state:
        assert row.owner_state(world) == owner_before
    changed = fingerprint_diff(before, database_fingerprint())
    if role == "anonymous" or row.method == "GET" or not row.other_writes_own:
        assert changed == []


def test_matrix_size() -> None:
    """The figure quoted in the issue's closing note (HTTP rows; the websocket rows are below)."""
    assert (len(ROWS), len(ROLES)) == (69, 3)


# --- The websocket: a socket hears its own user's events and reads its own user's messages -----------


def _cookie(client: Client) -> bytes:
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}".encode()


def _socket_headers(role: Role, world: World) -> list[tuple[bytes, bytes]]:
    headers = [(b"origin", b"http://localhost")]
    if role != "anonymous":
        headers.append((b"cookie", _cookie(logged_in(world.alice if role == "owner" else world.bob))))
    return headers


# Client messages a curious member might try, to hear or read someone else's events: the consumer
# has no such commands, and the DM handlers only ever act on the sender's own conversations.
SNOOPING: list[dict[str, Any]] = [
    {"type": "subscribe", "user": 1},
    {"type": "join", "group": "user.1"},
    {"type": "dm.catch_up", "with": "carol", "after": 0, "conversation": 1},
    {"type": "dm.catch_up", "with": "alice", "after": 0},
    {"type": "dm.catch_up", "with": ["alice", "carol"], "after": 0},
    {"type": "catch_up", "after": 0, "user": 1},
    {"type": "badges.get", "user": 1},
]


WS_ROWS = ["live event for alice", "dm.catch_up with carol", "dm.read with carol", "dm.send to carol", "badges.get"]


async def _ws_exchange(
    row: str, role: Role, world: World, headers: list[tuple[bytes, bytes]]
) -> tuple[bool, int | None, list[dict[str, Any]]]:
    """Connect as `role`, do the row's thing, return (connected, close code, everything received)."""
    socket = WebsocketCommunicator(application, "/ws/", headers=headers)
    connected, code = await socket.connect(timeout=5)
    if not connected:
        return False, code, []
    received: list[dict[str, Any]] = []
    if role == "other":
        for attempt in SNOOPING:
            await socket.send_json_to({**attempt, "user": world.alice.pk, "group": f"user.{world.alice.pk}"})
            received.append(await socket.receive_json_from(timeout=5))
    if row == "live event for alice":
        # The real path: Carol's message is published after commit to its two participants.
        await sync_to_async(message_send)(sender=world.carol, recipient=world.alice, text=DM_FROM_CAROL + " again")
        if role == "owner":
            received.append(await socket.receive_json_from(timeout=5))
    else:
        message = {
            "dm.catch_up with carol": {"type": "dm.catch_up", "with": "carol", "after": 0},
            "dm.read with carol": {"type": "dm.read", "with": "carol"},
            "dm.send to carol": {"type": "dm.send", "to": "carol", "text": "sent over the socket"},
            "badges.get": {"type": "badges.get"},
        }[row]
        await socket.send_json_to(message)
        received.append(await socket.receive_json_from(timeout=5))
        if row == "dm.send to carol":  # the sender's own sockets also hear the new message (dm.new)
            received.append(await socket.receive_json_from(timeout=5))
        if row == "dm.read with carol" and role == "owner":  # and their badges, one unread fewer
            received.append(await socket.receive_json_from(timeout=5))
    assert await socket.receive_nothing(timeout=0.5), "an event nobody asked for arrived"
    await socket.disconnect()
    return True, None, received


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("row", WS_ROWS)
def test_websocket_matrix(row: str, role: Role) -> None:
    world = build_world()
    conversation_before = _alice_conversation(world)
    before = database_fingerprint()

    headers = _socket_headers(role, world)
    connected, code, received = async_to_sync(_ws_exchange)(row, role, world, headers)
    seen = json.dumps(received)

    if role == "anonymous":
        assert (connected, code) == (False, CLOSE_UNAUTHENTICATED)
        assert fingerprint_diff(before, database_fingerprint()) == []
        return
    assert connected
    events = [message["event"] for message in received]
    if role == "owner":
        owner_sees = {
            "live event for alice": ("dm.new", DM_FROM_CAROL + " again"),
            "dm.catch_up with carol": ("dm.catch_up", DM_TO_CAROL),
            "dm.read with carol": ("dm.marked_read", '"messages": 0'),
            "dm.send to carol": ("dm.sent", "sent over the socket"),
            "badges.get": ("badges", '"notifications": 1'),
        }[row]
        assert owner_sees[0] in events, received
        assert owner_sees[1] is None or owner_sees[1] in seen
        if row in ("dm.read with carol", "dm.send to carol"):
            assert _alice_conversation(world) != conversation_before
        return
    # Another member: each snooping attempt is an error or their own (empty) conversation, and
    # nothing of Alice's arrives, whatever the row.
    assert events[: len(SNOOPING)] == [
        "error", "error", "dm.catch_up", "dm.catch_up", "dm.error", "tweet.catch_up", "badges",
    ]  # fmt: skip
    # Badge counts are always the asker's own: Bob has no notifications and no unread messages.
    for message in received:
        if message["event"] == "badges":
            assert (message["payload"]["notifications"], message["payload"]["messages"]) == (0, 0), message
    for text in ALICE_PRIVATE:
        assert text not in seen, f"another member's socket got {text!r}"
    if row != "live event for alice":  # there, Carol's message did change Alice's conversation
        assert _alice_conversation(world) == conversation_before
