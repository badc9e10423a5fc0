"""The API's access matrix: every operation of /api/v1/, tried as the owner of what it reaches, as
another member and as an anonymous caller (the same world as the pages' matrix, test_access_matrix).

Members call with a personal access token of every scope (the operations that take a browser
session only, with their session and CSRF token). The owner gets it; the others get a refusal or
their own version, never a byte of the owner's private content, and change nothing of the owner's;
a refused or read-only request changes nothing at all. Then the token's own limits: each scope
gates what it should, a suspended account's token opens nothing, and a token is nobody on the
pages, captured mail included. `test_every_operation_has_a_row` keeps the matrix complete.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import pytest
from django.conf import settings
from django.test import Client

from api.models import AccessToken, Scope
from api.services import token_create
from api.tokens import digest, hint, new_token
from follows.models import Block, Follow, Mute
from messaging.models import Conversation, Message
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
    World,
    database_fingerprint,
    fingerprint_diff,
    logged_in,
)
from tweets.models import Bookmark, Like, Tweet

Role = Literal["owner", "other", "anonymous"]
ROLES: tuple[Role, ...] = ("owner", "other", "anonymous")
OK, CREATED, GONE, FORBIDDEN, NOT_FOUND, UNAUTHORIZED = 200, 201, 204, 403, 404, 401
Expect = dict[Role, int]
PUBLIC: Expect = {"owner": OK, "other": OK, "anonymous": OK}
MEMBERS: Expect = {"owner": OK, "other": OK, "anonymous": UNAUTHORIZED}


def expect(owner: int, other: int, anonymous: int) -> Expect:
    return {"owner": owner, "other": other, "anonymous": anonymous}


ALICE_TOKEN_NAME = "alice-token-name-5e1f"
# What nobody but Alice may read (as in test_access_matrix): her messages, mail and coordinates.
ALICE_PRIVATE = [DM_TO_CAROL, DM_FROM_CAROL, MAIL_SUBJECT, MAIL_BODY, MAIL_HTML, *(f"{v:g}" for v in ALICE_POSITION)]


def _alice_tweets(world: World) -> object:
    return sorted(Tweet.objects.filter(author=world.alice).values_list("id", "pinned", "text"))


def _alice_follows(world: World) -> object:
    return sorted(Follow.objects.filter(follower=world.alice).values_list("followee_id", flat=True))


def _alice_conversation(world: World) -> object:
    conversation = Conversation.objects.get(pk=world.conversation.pk)
    texts = list(Message.objects.filter(conversation=conversation).order_by("id").values_list("text", flat=True))
    return texts, conversation.low_last_read_id, conversation.high_last_read_id


def _alice_tokens(world: World) -> object:
    return sorted(AccessToken.objects.filter(user=world.alice).values_list("name", flat=True))


def _replies_by_alice(world: World) -> object:
    return sorted(Tweet.objects.filter(author=world.alice, in_reply_to__isnull=False).values_list("id", flat=True))


def _alice_relations(world: World) -> object:
    blocked = sorted(Block.objects.filter(blocker=world.alice).values_list("blocked_id", flat=True))
    muted = sorted(Mute.objects.filter(muter=world.alice).values_list("muted_id", flat=True))
    return blocked, muted


def _alice_marks(world: World) -> object:
    likes = sorted(Like.objects.filter(user=world.alice).values_list("tweet_id", flat=True))
    return likes, sorted(Bookmark.objects.filter(user=world.alice).values_list("tweet_id", flat=True))


def _alice_reposts(world: World) -> object:
    return sorted(Tweet.objects.filter(author=world.alice, repost_of__isnull=False).values_list("id", flat=True))


def _alice_unread(world: World) -> object:
    return sorted(Notification.objects.filter(recipient=world.alice, unread=True).values_list("id", flat=True))


def _alice_token_id(world: World) -> int:
    return AccessToken.objects.get(user=world.alice, name=ALICE_TOKEN_NAME).pk


@dataclass(frozen=True)
class Row:
    name: str
    method: str
    path: str  # the schema's path template, under /api/v1
    url: Callable[[World], str]
    expect: dict[Role, int]
    scope: str | None = None  # what a token needs (None: any token, or none at all)
    session: bool = False  # the operation takes a browser session only
    body: dict[str, Any] | None = None
    private: Callable[[World], list[str]] = lambda world: []
    owner_state: Callable[[World], object] | None = None
    other_writes_own: bool = False

    def __str__(self) -> str:
        return self.name


READ, WRITE, MESSAGES = Scope.READ.value, Scope.WRITE.value, Scope.MESSAGES.value
ROWS = [
    Row("me", "GET", "/me", lambda w: "/me", MEMBERS, READ),
    Row("profile", "GET", "/users/{username}", lambda w: "/users/alice", PUBLIC),
    Row("user tweets", "GET", "/users/{username}/tweets", lambda w: "/users/alice/tweets", PUBLIC),
    Row("followers", "GET", "/users/{username}/followers", lambda w: "/users/alice/followers", PUBLIC),
    Row("following", "GET", "/users/{username}/following", lambda w: "/users/alice/following", PUBLIC),
    Row("follow", "PUT", "/users/{username}/follow", lambda w: "/users/erin/follow", MEMBERS, WRITE,
        owner_state=_alice_follows, other_writes_own=True),
    Row("unfollow", "DELETE", "/users/{username}/follow", lambda w: "/users/carol/follow", MEMBERS, WRITE,
        owner_state=_alice_follows, other_writes_own=True),
    Row("post tweet", "POST", "/tweets", lambda w: "/tweets", expect(CREATED, CREATED, UNAUTHORIZED),
        WRITE, body={"text": "posted by the matrix"}, owner_state=_alice_tweets, other_writes_own=True),
    Row("get tweet", "GET", "/tweets/{tweet_id}", lambda w: f"/tweets/{w.tweet.pk}", PUBLIC),
    Row("deleted tweet", "GET", "/tweets/{tweet_id}", lambda w: f"/tweets/{w.deleted_tweet_id}",
        expect(NOT_FOUND, NOT_FOUND, NOT_FOUND)),
    Row("delete tweet", "DELETE", "/tweets/{tweet_id}", lambda w: f"/tweets/{w.tweet.pk}",
        expect(GONE, FORBIDDEN, UNAUTHORIZED), WRITE, owner_state=_alice_tweets),
    Row("pin tweet", "PUT", "/tweets/{tweet_id}/pin", lambda w: f"/tweets/{w.tweet.pk}/pin",
        expect(OK, FORBIDDEN, UNAUTHORIZED), WRITE, owner_state=_alice_tweets),
    Row("unpin tweet", "DELETE", "/tweets/{tweet_id}/pin", lambda w: f"/tweets/{w.pinned.pk}/pin",
        expect(OK, FORBIDDEN, UNAUTHORIZED), WRITE, owner_state=_alice_tweets),
    # Replies: anyone may answer a tweet they may see, as themselves only; a deleted one is a 409.
    Row("reply", "POST", "/tweets/{tweet_id}/replies", lambda w: f"/tweets/{w.bobs_tweet_id}/replies",
        expect(CREATED, CREATED, UNAUTHORIZED), WRITE, body={"text": "an answer from the matrix"},
        owner_state=_replies_by_alice, other_writes_own=True),
    Row("reply to a deleted tweet", "POST", "/tweets/{tweet_id}/replies",
        lambda w: f"/tweets/{w.deleted_tweet_id}/replies", expect(409, 409, UNAUTHORIZED), WRITE,
        body={"text": "too late"}, owner_state=_replies_by_alice),
    Row("thread", "GET", "/tweets/{tweet_id}/thread", lambda w: f"/tweets/{w.tweet.pk}/thread", PUBLIC),
    Row("deleted thread", "GET", "/tweets/{tweet_id}/thread", lambda w: f"/tweets/{w.deleted_tweet_id}/thread",
        expect(NOT_FOUND, NOT_FOUND, NOT_FOUND)),
    Row("tweets and replies", "GET", "/users/{username}/tweets-and-replies",
        lambda w: "/users/alice/tweets-and-replies", PUBLIC),
    # Blocks and mutes: always the caller's own; nobody reads anyone else's lists.
    Row("block", "PUT", "/users/{username}/block", lambda w: "/users/erin/block", MEMBERS, WRITE,
        owner_state=_alice_relations, other_writes_own=True),
    Row("unblock", "DELETE", "/users/{username}/block", lambda w: "/users/grace/block", MEMBERS, WRITE,
        owner_state=_alice_relations, other_writes_own=True),
    Row("mute", "PUT", "/users/{username}/mute", lambda w: "/users/erin/mute", MEMBERS, WRITE,
        owner_state=_alice_relations, other_writes_own=True),
    Row("unmute", "DELETE", "/users/{username}/mute", lambda w: "/users/grace/mute", MEMBERS, WRITE,
        owner_state=_alice_relations, other_writes_own=True),
    Row("my blocks", "GET", "/me/blocks", lambda w: "/me/blocks", MEMBERS, READ, private=lambda w: ['"grace"']),
    Row("my mutes", "GET", "/me/mutes", lambda w: "/me/mutes", MEMBERS, READ, private=lambda w: ['"grace"']),
    Row("tag", "GET", "/tags/{tag}/tweets", lambda w: "/tags/hello/tweets", PUBLIC),
    Row("trending", "GET", "/trending", lambda w: "/trending", PUBLIC),
    Row("search tweets", "GET", "/search/tweets", lambda w: "/search/tweets?q=alice", PUBLIC),
    Row("search people", "GET", "/search/users", lambda w: "/search/users?q=alice", PUBLIC),
    Row("home", "GET", "/timelines/home", lambda w: "/timelines/home", MEMBERS, READ),
    Row("who to follow", "GET", "/discover/who-to-follow", lambda w: "/discover/who-to-follow", MEMBERS, READ,
        private=lambda w: ["Followed by @carol"]),
    Row("friends of friends", "GET", "/discover/friends-of-friends", lambda w: "/discover/friends-of-friends",
        MEMBERS, READ, private=lambda w: ['"dave"']),
    Row("followers of followers", "GET", "/discover/followers-of-followers",
        lambda w: "/discover/followers-of-followers", MEMBERS, READ, private=lambda w: ['"dave"']),
    Row("conversations", "GET", "/conversations", lambda w: "/conversations", MEMBERS, MESSAGES,
        private=lambda w: [DM_FROM_CAROL]),
    Row("messages", "GET", "/conversations/{username}/messages", lambda w: "/conversations/carol/messages",
        MEMBERS, MESSAGES, private=lambda w: [DM_TO_CAROL, DM_FROM_CAROL]),
    Row("send message", "POST", "/conversations/{username}/messages", lambda w: "/conversations/carol/messages",
        expect(CREATED, CREATED, UNAUTHORIZED), MESSAGES, body={"text": "hi from the matrix"},
        owner_state=_alice_conversation, other_writes_own=True),
    Row("mark read", "POST", "/conversations/{username}/read", lambda w: "/conversations/carol/read", MEMBERS,
        MESSAGES, owner_state=_alice_conversation, other_writes_own=True),
    # Likes (public), bookmarks and notifications (the caller's own only), reposts and quotes (issue 21).
    # Alice liked, bookmarked and reposted Carol's tweet; Carol's follow is her unread notification.
    Row("like", "PUT", "/tweets/{tweet_id}/like", lambda w: f"/tweets/{w.bobs_tweet_id}/like", MEMBERS, WRITE,
        owner_state=_alice_marks, other_writes_own=True),
    Row("like a deleted tweet", "PUT", "/tweets/{tweet_id}/like", lambda w: f"/tweets/{w.deleted_tweet_id}/like",
        expect(NOT_FOUND, NOT_FOUND, UNAUTHORIZED), WRITE, owner_state=_alice_marks),
    Row("unlike", "DELETE", "/tweets/{tweet_id}/like", lambda w: f"/tweets/{w.carols_tweet_id}/like", MEMBERS,
        WRITE, owner_state=_alice_marks, other_writes_own=True),
    Row("user likes", "GET", "/users/{username}/likes", lambda w: "/users/alice/likes", PUBLIC),
    Row("bookmark", "PUT", "/tweets/{tweet_id}/bookmark", lambda w: f"/tweets/{w.bobs_tweet_id}/bookmark", MEMBERS,
        WRITE, owner_state=_alice_marks, other_writes_own=True),
    Row("unbookmark", "DELETE", "/tweets/{tweet_id}/bookmark", lambda w: f"/tweets/{w.carols_tweet_id}/bookmark",
        MEMBERS, WRITE, owner_state=_alice_marks, other_writes_own=True),
    Row("my bookmarks", "GET", "/me/bookmarks", lambda w: "/me/bookmarks", MEMBERS, READ,
        private=lambda w: [CAROLS_TWEET]),
    Row("repost", "PUT", "/tweets/{tweet_id}/repost", lambda w: f"/tweets/{w.bobs_tweet_id}/repost", MEMBERS, WRITE,
        owner_state=_alice_reposts, other_writes_own=True),
    Row("unrepost", "DELETE", "/tweets/{tweet_id}/repost", lambda w: f"/tweets/{w.carols_tweet_id}/repost",
        MEMBERS, WRITE, owner_state=_alice_reposts, other_writes_own=True),
    Row("quote", "POST", "/tweets/{tweet_id}/quotes", lambda w: f"/tweets/{w.bobs_tweet_id}/quotes",
        expect(CREATED, CREATED, UNAUTHORIZED), WRITE, body={"text": "quoted by the matrix"},
        owner_state=_alice_tweets, other_writes_own=True),
    Row("quote a deleted tweet", "POST", "/tweets/{tweet_id}/quotes", lambda w: f"/tweets/{w.deleted_tweet_id}/quotes",
        expect(NOT_FOUND, NOT_FOUND, UNAUTHORIZED), WRITE, body={"text": "too late"}, owner_state=_alice_tweets),
    Row("my notifications", "GET", "/me/notifications", lambda w: "/me/notifications", MEMBERS, READ,
        private=lambda w: ['"kind":"follow"', '"username":"carol"']),
    Row("mark notifications read", "POST", "/me/notifications/read", lambda w: "/me/notifications/read", MEMBERS,
        WRITE, owner_state=_alice_unread, other_writes_own=True),
    Row("badges", "GET", "/me/badges", lambda w: "/me/badges", MEMBERS, READ,
        private=lambda w: ['"notifications":1']),
    Row("list tokens", "GET", "/tokens", lambda w: "/tokens", MEMBERS, session=True,
        private=lambda w: [ALICE_TOKEN_NAME]),
    Row("create token", "POST", "/tokens", lambda w: "/tokens", expect(CREATED, CREATED, UNAUTHORIZED),
        session=True, body={"name": "made by the matrix", "scopes": ["read"]}, owner_state=_alice_tokens,
        other_writes_own=True),
    Row("revoke token", "DELETE", "/tokens/{token_id}", lambda w: f"/tokens/{_alice_token_id(w)}",
        expect(GONE, NOT_FOUND, UNAUTHORIZED), session=True, owner_state=_alice_tokens),
]  # fmt: skip


@dataclass
class Caller:
    client: Client
    headers: dict[str, str] = field(default_factory=dict)


def _caller(role: Role, row: Row, world: World) -> Caller:
    if role == "anonymous":
        return Caller(Client())
    user = world.alice if role == "owner" else world.bob
    if row.session:
        client = logged_in(user, enforce_csrf_checks=True)
        return Caller(client, {"X-CSRFToken": client.cookies[settings.CSRF_COOKIE_NAME].value})
    _, secret = token_create(user=user, name=f"matrix {role}", scopes=list(Scope.values))
    client = Client(headers={"Authorization": f"Bearer {secret}"})
    client.get("/api/v1/me")  # the token's first use stamps last_used_at now, not in the request under test
    return Caller(client)


def _send(caller: Caller, row: Row, url: str) -> Any:
    data = json.dumps(row.body) if row.body is not None else ""
    return caller.client.generic(row.method, url, data, content_type="application/json", headers=caller.headers)


@pytest.fixture
def api_world(world: World) -> World:
    token_create(user=world.alice, name=ALICE_TOKEN_NAME, scopes=["read"])
    return world


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("row", ROWS, ids=str)
def test_api_access_matrix(row: Row, role: Role, api_world: World) -> None:
    world = api_world
    caller = _caller(role, row, world)
    owner_before = row.owner_state(world) if row.owner_state else None
    before = database_fingerprint()

    response = _send(caller, row, "/api/v1" + row.url(world))
    seen = response.content.decode()
    assert response.status_code == row.expect[role], seen[:500]
    if response.status_code >= 400:
        assert response["Content-Type"] == "application/problem+json"

    assert DELETED_TWEET not in seen
    if role == "owner":
        for text in row.private(world):
            assert text in seen, f"the owner does not see {text!r}: the row tests nothing"
        if row.owner_state and row.method != "GET" and response.status_code < 400:
            assert row.owner_state(world) != owner_before, "the owner's request changed nothing"
        if response.status_code >= 400:  # the owner's own refusals (a deleted tweet's reply) too
            assert fingerprint_diff(before, database_fingerprint()) == []
        return
    for text in [*row.private(world), *ALICE_PRIVATE]:
        assert text not in seen, f"{role} sees {text!r}"
    if row.owner_state:
        assert row.owner_state(world) == owner_before
    changed = fingerprint_diff(before, database_fingerprint())
    if role == "anonymous" or row.method == "GET" or not row.other_writes_own or response.status_code >= 400:
        assert changed == []


def test_every_operation_has_a_row() -> None:
    schema = Client().get("/api/v1/schema/").json()
    operations = {
        (method.upper(), path.removeprefix("/api/v1")) for path, item in schema["paths"].items() for method in item
    }
    assert operations == {(row.method, row.path) for row in ROWS}


@pytest.mark.django_db
@pytest.mark.parametrize("scope", list(Scope.values))
def test_a_token_holds_only_its_scope(scope: str, api_world: World) -> None:
    """With one scope, every operation needing another is a 403 that changes nothing."""
    world = api_world
    _, secret = token_create(user=world.alice, name=f"only {scope}", scopes=[scope])
    caller = Caller(Client(headers={"Authorization": f"Bearer {secret}"}))
    caller.client.get("/api/v1/trending")
    for row in ROWS:
        if row.session or row.scope is None or row.scope == scope:
            continue
        before = database_fingerprint()
        response = _send(caller, row, "/api/v1" + row.url(world))
        assert response.status_code == FORBIDDEN, (row.name, response.content[:300])
        assert "insufficient_scope" in response["WWW-Authenticate"]
        for text in ALICE_PRIVATE:
            assert text not in response.content.decode()
        assert fingerprint_diff(before, database_fingerprint()) == []


@pytest.mark.django_db
def test_a_suspended_accounts_token_opens_nothing(api_world: World, generous_rate_limits: None) -> None:
    """Mallory's token was made before the suspension (stored as token_create stores one). Each
    refusal counts as a failed login from the address: the limits are raised (the limiter still
    runs) so that every row, more than the login budget, is answered by the token check."""
    world = api_world
    secret = new_token()
    AccessToken.objects.create(
        user=world.mallory, name="old", scopes=list(Scope.values), digest=digest(secret), hint=hint(secret)
    )
    client = Client(headers={"Authorization": f"Bearer {secret}"})
    for row in ROWS:
        if row.session:
            continue
        before = database_fingerprint()
        response = _send(Caller(client), row, "/api/v1" + row.url(world))
        assert response.status_code == UNAUTHORIZED, (row.name, response.content[:300])
        assert fingerprint_diff(before, database_fingerprint()) == []


PAGES_WITH_SECRETS = [
    "/messages/", "/messages/carol/", "/admin/mails/", "/admin/mails/?to=alice", "/settings/tokens/", "/settings/profile/",
]  # fmt: skip


@pytest.mark.django_db
def test_a_token_is_nobody_on_the_pages(api_world: World) -> None:
    """A token reaches /api/v1/ only: the pages, captured mail among them, treat it as a visitor."""
    world = api_world
    _, secret = token_create(user=world.alice, name="pages", scopes=list(Scope.values))
    client = Client(headers={"Authorization": f"Bearer {secret}"})
    urls = [*PAGES_WITH_SECRETS, f"/admin/mails/{world.mail.pk}/", f"/admin/mails/{world.mail.pk}/html/"]
    for url in urls:
        response = client.get(url)
        # A visitor's answer: the login page, a 404, or the demo's public mail inbox (empty for them).
        assert response.status_code in (200, 302, 404), (url, response.status_code)
        if url.startswith(("/messages/", "/settings/")):
            assert response.status_code == 302, (url, response.status_code)
        seen = response.content.decode()
        for text in [*ALICE_PRIVATE, MAIL_SUBJECT, MAIL_BODY, ALICE_TOKEN_NAME]:
            assert text not in seen, f"a token read {text!r} on {url}"


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_the_token_settings_page_is_the_viewers_own(role: Role, api_world: World) -> None:
    """/settings/tokens/ lists and revokes the viewer's own tokens only; visitors go to the login."""
    world = api_world
    client = Client() if role == "anonymous" else logged_in(world.alice if role == "owner" else world.bob)
    listed = client.get("/settings/tokens/")
    before = _alice_tokens(world)
    revoke = client.post(f"/settings/tokens/{_alice_token_id(world)}/revoke/")
    if role == "anonymous":
        assert listed.status_code == revoke.status_code == 302
        assert listed["Location"].startswith("/accounts/login/")
        assert _alice_tokens(world) == before
        return
    assert listed.status_code == 200
    assert (ALICE_TOKEN_NAME in listed.content.decode()) == (role == "owner")
    assert revoke.status_code == 302
    assert (_alice_tokens(world) == before) == (role == "other")


UNSAFE_ROWS = [row for row in ROWS if row.method != "GET"]


@pytest.mark.django_db
@pytest.mark.parametrize("row", UNSAFE_ROWS, ids=str)
def test_a_sessions_unsafe_request_without_csrf_token_is_refused(row: Row, api_world: World) -> None:
    """What tests/security/test_csrf.py does for the pages: Alice's session, every unsafe operation,
    no X-CSRFToken: a 403 from the CSRF check that changes nothing. With the header it goes through
    (the matrix above), so the refusal is the check's."""
    world = api_world
    client = logged_in(world.alice, enforce_csrf_checks=True)
    client.get("/api/v1/me")  # last_active written now, not by the request under test
    before = database_fingerprint()
    response = _send(Caller(client), row, "/api/v1" + row.url(world))
    assert response.status_code == FORBIDDEN, response.content[:300]
    assert response.json()["type"].endswith("#problem-csrf")
    assert fingerprint_diff(before, database_fingerprint()) == []
    with_token = _send(Caller(client, {"X-CSRFToken": client.cookies[settings.CSRF_COOKIE_NAME].value}), row,
                       "/api/v1" + row.url(world))  # fmt: skip
    assert with_token.status_code == row.expect["owner"], with_token.content[:300]
