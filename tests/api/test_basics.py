"""The API's operations over the real services: shapes, auth, scopes, errors."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from api.models import AccessToken
from api.services import token_revoke
from follows.services import follow_create
from messaging.services import message_send
from moderation.services import account_suspend
from tests.api.conftest import bearer, token_for
from tests.factories import make_user
from tweets.models import Tweet
from tweets.services import tweet_create

pytestmark = pytest.mark.django_db(transaction=True)  # the caches are written after commit

PROBLEM = "application/problem+json"


def _problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == PROBLEM
    body = response.json()
    assert body["status"] == status
    assert body["title"]
    assert body["detail"]
    assert body["type"]
    return dict(body)


def test_post_then_read_home(api_client: Callable[..., Client]) -> None:
    alice, bob = make_user("alice"), make_user("bob")
    follow_create(follower=alice, followee=bob)
    tweet_create(author=bob, text="bob says hi #api")
    client = api_client(alice)
    created = client.post("/api/v1/tweets", {"text": "  hello #api  "}, content_type="application/json")
    assert created.status_code == 201, created.content
    assert created.json()["text"] == "hello #api"
    assert created.json()["author"]["username"] == "alice"
    home = client.get("/api/v1/timelines/home")
    assert home.status_code == 200
    assert [item["text"] for item in home.json()["items"]] == ["hello #api", "bob says hi #api"]
    assert home.json()["next_cursor"] is None


def test_no_credentials_is_401_with_challenge() -> None:
    response = Client().get("/api/v1/timelines/home")
    _problem(response, 401)
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_wrong_and_revoked_tokens_are_401() -> None:
    alice = make_user("alice")
    secret = token_for(alice, ["read"])
    for _ in range(3):  # cold, then the token and its user's row cached
        assert bearer(secret).get("/api/v1/me").status_code == 200
    for bad in ["thp_" + "A" * 43, "nonsense", secret + "x"]:
        _problem(bearer(bad).get("/api/v1/me"), 401)
    assert token_revoke(user=alice, token_id=AccessToken.objects.get().pk)
    _problem(bearer(secret).get("/api/v1/me"), 401)  # at once, though it was cached


def test_suspended_users_token_stops_working_at_once() -> None:
    alice, staff = make_user("alice"), make_user("operator", is_staff=True)
    secret = token_for(alice, ["read"])
    for _ in range(3):
        assert bearer(secret).get("/api/v1/me").status_code == 200
    assert account_suspend(moderator=staff, user_id=alice.pk)
    body = _problem(bearer(secret).get("/api/v1/me"), 401)
    assert "suspended" in str(body["detail"])
    # Public reads too: a dead token is refused, never downgraded to a visitor.
    _problem(bearer(secret).get("/api/v1/trending"), 401)


def test_scopes() -> None:
    alice, carol = make_user("alice"), make_user("carol")
    message_send(sender=carol, recipient=alice, text="private words")
    reader = bearer(token_for(alice, ["read"]))
    body = _problem(reader.post("/api/v1/tweets", {"text": "x"}, content_type="application/json"), 403)
    assert body["type"].endswith("insufficient-scope")
    response = reader.get("/api/v1/conversations")
    _problem(response, 403)
    assert "private words" not in response.content.decode()
    assert 'error="insufficient_scope"' in response["WWW-Authenticate"]
    messenger = bearer(token_for(alice, ["messages"]))
    assert messenger.get("/api/v1/conversations").json()["items"][0]["last_message"]["text"] == "private words"
    _problem(messenger.get("/api/v1/timelines/home"), 403)
    assert not Tweet.objects.exists()


def test_tokens_cannot_manage_tokens() -> None:
    alice = make_user("alice")
    client = bearer(token_for(alice))
    _problem(client.get("/api/v1/tokens"), 401)
    _problem(client.post("/api/v1/tokens", {"name": "more", "scopes": ["read"]}, content_type="application/json"), 401)
    assert AccessToken.objects.count() == 1


def test_session_needs_csrf_for_unsafe_methods() -> None:
    alice = make_user("alice")
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    assert client.get("/api/v1/me").status_code == 200
    body = _problem(client.post("/api/v1/tweets", {"text": "forged"}, content_type="application/json"), 403)
    assert body["type"].endswith("csrf")
    assert not Tweet.objects.exists()
    client.get("/api/v1/docs/")  # any page sets the CSRF cookie
    token = client.cookies["csrftoken"].value
    ok = client.post(
        "/api/v1/tweets", {"text": "real"}, content_type="application/json", headers={"X-CSRFToken": token}
    )
    assert ok.status_code == 201


def test_session_creates_token_once_then_409() -> None:
    alice = make_user("alice")
    client = Client()
    client.force_login(alice)
    made = client.post("/api/v1/tokens", {"name": "bot", "scopes": ["read"]}, content_type="application/json")
    assert made.status_code == 201
    secret = made.json()["token"]
    assert secret.startswith("thp_")
    stored = AccessToken.objects.get()
    assert secret not in str(list(AccessToken.objects.values_list()))
    assert stored.hint == secret[: len(stored.hint)]
    assert "token" not in client.get("/api/v1/tokens").json()[0]
    again = client.post("/api/v1/tokens", {"name": "bot", "scopes": ["read"]}, content_type="application/json")
    body = _problem(again, 409)
    assert body["errors"] == [{"field": "name", "message": "You already have a token with that name."}]
    assert bearer(secret).get("/api/v1/me").json()["username"] == "alice"


def test_validation_errors_have_fields(api_client: Callable[..., Client]) -> None:
    alice = make_user("alice")
    client = api_client(alice)
    body = _problem(client.post("/api/v1/tweets", {"text": "x" * 281}, content_type="application/json"), 422)
    assert body["errors"][0]["field"] == "text"
    body = _problem(client.post("/api/v1/tweets", {"nope": 1}, content_type="application/json"), 422)
    assert body["errors"][0]["field"] == "text"
    _problem(client.post("/api/v1/tweets", "{not json", content_type="application/json"), 400)
    body = _problem(client.get("/api/v1/timelines/home?cursor=%%%"), 422)
    assert body["errors"][0]["field"] == "cursor"
    _problem(client.get("/api/v1/tweets/0"), 422)
    _problem(client.get("/api/v1/tweets/123"), 404)
    _problem(client.get("/api/v1/users/nobody"), 404)
    _problem(client.get("/api/v1/no/such/route"), 404)
    _problem(client.get("/api/v1/conversations/%2F%0A/messages"), 404)  # a newline in the path (the fuzz found it)
    response = client.patch("/api/v1/tweets")
    _problem(response, 405)
    assert response["Allow"] == "POST"


def test_someone_elses_tweet_is_403(
    api_client: Callable[..., Client], django_capture_on_commit_callbacks: Any
) -> None:
    alice, bob = make_user("alice"), make_user("bob")
    tweet = tweet_create(author=alice, text="mine")
    client = api_client(bob)
    _problem(client.delete(f"/api/v1/tweets/{tweet.pk}"), 403)
    _problem(client.put(f"/api/v1/tweets/{tweet.pk}/pin"), 403)
    assert Tweet.objects.filter(pk=tweet.pk, pinned=False).exists()
    owner = api_client(alice)
    assert owner.put(f"/api/v1/tweets/{tweet.pk}/pin").json()["pinned"] is True
    assert owner.get("/api/v1/me").json()["pinned_tweet"]["id"] == tweet.pk
    with django_capture_on_commit_callbacks(execute=True):
        assert owner.delete(f"/api/v1/tweets/{tweet.pk}").status_code == 204
    _problem(owner.get(f"/api/v1/tweets/{tweet.pk}"), 404)


def test_follow_and_lists(api_client: Callable[..., Client]) -> None:
    alice, bob = make_user("alice"), make_user("bob")
    client = api_client(alice)
    assert client.put("/api/v1/users/bob/follow").json() == {"following": True, "changed": True}
    assert client.put("/api/v1/users/BOB/follow").json() == {"following": True, "changed": False}
    assert client.get("/api/v1/users/bob").json()["followed_by_you"] is True
    assert [p["username"] for p in client.get("/api/v1/users/bob/followers").json()["items"]] == ["alice"]
    assert [p["username"] for p in Client().get("/api/v1/users/alice/following").json()["items"]] == ["bob"]
    body = _problem(client.put("/api/v1/users/alice/follow"), 422)
    assert "yourself" in str(body["detail"])
    assert client.delete("/api/v1/users/bob/follow").json() == {"following": False, "changed": True}
    unverified = api_client(make_user("newbie", verified=False))
    _problem(unverified.put("/api/v1/users/bob/follow"), 403)
    assert bob.pk


def test_rate_limit_is_429_with_retry_after(api_client: Callable[..., Client], settings: Any) -> None:
    settings.RATE_LIMIT_TWEETS_PER_USER = "2/1h"
    client = api_client(make_user("alice"))
    for n in range(2):
        assert client.post("/api/v1/tweets", {"text": f"t{n}"}, content_type="application/json").status_code == 201
    response = client.post("/api/v1/tweets", {"text": "t3"}, content_type="application/json")
    _problem(response, 429)
    assert int(response["Retry-After"]) > 0
    assert Tweet.objects.count() == 2


def test_bad_tokens_share_the_login_limit_per_address(settings: Any) -> None:
    settings.RATE_LIMIT_LOGIN_PER_IP = "3/10m"
    client = bearer("thp_" + "B" * 43)
    statuses = [client.get("/api/v1/me").status_code for _ in range(5)]
    assert statuses == [401, 401, 401, 429, 429]
    assert int(client.get("/api/v1/me")["Retry-After"]) > 0


def test_messages(api_client: Callable[..., Client]) -> None:
    alice, carol = make_user("alice"), make_user("carol")
    client = api_client(alice, ["messages"])
    sent = client.post("/api/v1/conversations/carol/messages", {"text": "hi carol"}, content_type="application/json")
    assert sent.status_code == 201
    assert sent.json()["sender"] == "alice"
    message_send(sender=carol, recipient=alice, text="hi alice")
    page = client.get("/api/v1/conversations/carol/messages").json()
    assert [m["text"] for m in page["items"]] == ["hi carol", "hi alice"]
    inbox = client.get("/api/v1/conversations").json()["items"]
    assert inbox[0]["other"]["username"] == "carol"
    assert inbox[0]["unread"] == 1
    assert client.post("/api/v1/conversations/carol/read").json() == {"changed": True}
    assert client.get("/api/v1/conversations").json()["items"][0]["unread"] == 0
    _problem(client.get("/api/v1/conversations/alice/messages"), 404)


def test_schema_and_docs_are_served_locally() -> None:
    schema = Client().get("/api/v1/schema/")
    assert schema.status_code == 200
    assert schema.json()["openapi"].startswith("3.1")
    docs = Client().get("/api/v1/docs/")
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "/static/ninja/swagger-ui-bundle.js" in html
    assert "cdn" not in html.lower()
    assert "https://" not in html
    assert Client().get("/static/ninja/swagger-ui-bundle.js").status_code == 200


def test_unreadable_body_with_a_session_is_400() -> None:
    """The session's CSRF check reads the form: a multipart type without its boundary was a 500."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(make_user("dave"))
    client.cookies["csrftoken"] = "k" * 32
    response = client.generic(
        "POST", "/api/v1/tokens", b"{}", content_type="multipart/form-data", headers={"X-CSRFToken": "k" * 32}
    )
    _problem(response, 400)
