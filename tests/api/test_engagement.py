"""The API's likes, bookmarks, reposts, quotes and notifications over the pages' own services and
selectors: the marks and counts on tweets, idempotent PUT/DELETE, private bookmarks and
notifications, reposts shown as their original with `reposted_by` and `entry_id`, and every
refusal a problem document that writes nothing. Real Postgres and Redis, tasks run eagerly."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from accounts.models import User
from follows.services import block_create
from notifications.models import Notification
from tests.api.conftest import bearer, token_for
from tests.api.test_basics import _problem
from tests.factories import make_user
from tweets.models import Bookmark, Like, Tweet
from tweets.services import tweet_create, tweet_delete

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("eager_tasks")]


def _client(user: User, scopes: list[str] | None = None) -> Client:
    return bearer(token_for(user, scopes or ["read", "write"]))


def _call(client: Client, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    return client.generic(method, f"/api/v1{path}", "" if body is None else json.dumps(body),
                          content_type="application/json")  # fmt: skip


def _marks() -> object:
    return sorted(Like.objects.values_list("user_id", "tweet_id")), sorted(
        Bookmark.objects.values_list("user_id", "tweet_id")
    )


def test_like_and_unlike_are_idempotent_and_show_on_the_tweet() -> None:
    ann, bob = make_user("ann"), make_user("bob")
    tweet = tweet_create(author=ann, text="like me")
    client = _client(bob)
    assert _call(client, "PUT", f"/tweets/{tweet.pk}/like").json() == {"liked": True, "changed": True}
    assert _call(client, "PUT", f"/tweets/{tweet.pk}/like").json() == {"liked": True, "changed": False}
    mine = client.get(f"/api/v1/tweets/{tweet.pk}").json()
    assert (mine["like_count"], mine["liked"], mine["bookmarked"]) == (1, True, False)
    assert _client(ann).get(f"/api/v1/tweets/{tweet.pk}").json()["liked"] is False
    assert Client().get(f"/api/v1/tweets/{tweet.pk}").json()["like_count"] == 1
    likes = Client().get("/api/v1/users/bob/likes").json()
    assert [item["id"] for item in likes["items"]] == [tweet.pk]
    assert _call(client, "DELETE", f"/tweets/{tweet.pk}/like").json() == {"liked": False, "changed": True}
    assert _call(client, "DELETE", f"/tweets/{tweet.pk}/like").json() == {"liked": False, "changed": False}
    assert Client().get(f"/api/v1/tweets/{tweet.pk}").json()["like_count"] == 0
    assert Client().get("/api/v1/users/bob/likes").json()["items"] == []


def test_likes_refused_change_nothing() -> None:
    ann, bob, newbie = make_user("ann"), make_user("bob"), make_user("newbie", verified=False)
    tweet = tweet_create(author=ann, text="hello")
    gone = tweet_create(author=ann, text="gone")
    tweet_delete(tweet_id=gone.pk, user=ann)
    block_create(blocker=ann, blocked=bob)
    before = _marks()
    _problem(_call(_client(bob), "PUT", f"/tweets/{tweet.pk}/like"), 404)  # the block is not revealed
    _problem(_call(_client(bob), "PUT", f"/tweets/{gone.pk}/like"), 404)
    _problem(_call(_client(newbie), "PUT", f"/tweets/{tweet.pk}/like"), 403)
    _problem(_call(_client(bob, ["read"]), "PUT", f"/tweets/{tweet.pk}/like"), 403)
    _problem(Client().put(f"/api/v1/tweets/{tweet.pk}/like"), 401)
    _problem(Client().get("/api/v1/users/nobody/likes"), 404)
    assert _marks() == before == ([], [])


def test_likes_are_rate_limited_with_retry_after(settings: Any) -> None:
    settings.RATE_LIMIT_LIKES_PER_USER = "2/1h"
    ann = make_user("ann")
    tweets = [tweet_create(author=ann, text=f"t{n}") for n in range(3)]
    client = _client(make_user("bob"))
    for tweet in tweets[:2]:
        assert _call(client, "PUT", f"/tweets/{tweet.pk}/like").status_code == 200
    response = _call(client, "PUT", f"/tweets/{tweets[2].pk}/like")
    _problem(response, 429)
    assert int(response["Retry-After"]) > 0
    assert Like.objects.count() == 2


def test_bookmarks_are_private_to_their_owner() -> None:
    ann, bob = make_user("ann"), make_user("bob")
    tweet = tweet_create(author=ann, text="keep me")
    client = _client(bob)
    assert _call(client, "PUT", f"/tweets/{tweet.pk}/bookmark").json() == {"bookmarked": True, "changed": True}
    assert _call(client, "PUT", f"/tweets/{tweet.pk}/bookmark").json()["changed"] is False
    listed = client.get("/api/v1/me/bookmarks").json()
    assert [(item["id"], item["bookmarked"]) for item in listed["items"]] == [(tweet.pk, True)]
    assert _client(ann).get("/api/v1/me/bookmarks").json()["items"] == []  # ann's own, empty
    assert _client(ann).get(f"/api/v1/tweets/{tweet.pk}").json()["bookmarked"] is False
    _problem(Client().get("/api/v1/me/bookmarks"), 401)
    _problem(_client(bob, ["messages"]).get("/api/v1/me/bookmarks"), 403)
    _problem(_call(client, "PUT", f"/tweets/{tweet.pk + 10**6}/bookmark"), 404)
    assert _call(client, "DELETE", f"/tweets/{tweet.pk}/bookmark").json() == {"bookmarked": False, "changed": True}
    assert client.get("/api/v1/me/bookmarks").json()["items"] == []


def test_a_repost_shows_its_original_with_who_reposted_it() -> None:
    ann, bob = make_user("ann"), make_user("bob")
    tweet = tweet_create(author=ann, text="worth sharing")
    client = _client(bob)
    made = _call(client, "PUT", f"/tweets/{tweet.pk}/repost").json()
    assert made["reposted"] is True
    assert _call(client, "PUT", f"/tweets/{made['repost_id']}/repost").json() == made  # a repost's id: its original
    items = Client().get("/api/v1/users/bob/tweets").json()["items"]
    assert [(i["id"], i["entry_id"], i["reposted_by"], i["text"]) for i in items] == [
        (tweet.pk, made["repost_id"], "bob", "worth sharing")
    ]
    assert Client().get(f"/api/v1/tweets/{tweet.pk}").json()["repost_count"] == 1
    assert _call(_client(ann), "DELETE", f"/tweets/{made['repost_id']}/repost").json()["changed"] is False  # not hers
    assert _call(client, "DELETE", f"/tweets/{tweet.pk}/repost").json() == {"reposted": False, "changed": True}
    assert _call(client, "DELETE", f"/tweets/{tweet.pk}/repost").json()["changed"] is False
    assert Client().get("/api/v1/users/bob/tweets").json()["items"] == []
    assert Client().get(f"/api/v1/tweets/{tweet.pk}").json()["repost_count"] == 0


def test_reposts_refused_write_nothing() -> None:
    ann, bob = make_user("ann"), make_user("bob")
    tweet = tweet_create(author=ann, text="hello")
    gone = tweet_create(author=ann, text="gone")
    tweet_delete(tweet_id=gone.pk, user=ann)
    block_create(blocker=ann, blocked=bob)
    before = sorted(Tweet.objects.values_list("id", "repost_count"))
    _problem(_call(_client(bob), "PUT", f"/tweets/{tweet.pk}/repost"), 404)
    _problem(_call(_client(make_user("cy")), "PUT", f"/tweets/{gone.pk}/repost"), 404)
    _problem(_call(_client(make_user("newbie", verified=False)), "PUT", f"/tweets/{tweet.pk}/repost"), 403)
    _problem(_call(_client(bob), "POST", f"/tweets/{tweet.pk}/quotes", {"text": "blocked"}), 404)
    _problem(_call(_client(make_user("dee")), "POST", "/tweets", {"text": "late", "quote_of": gone.pk}), 404)
    assert sorted(Tweet.objects.values_list("id", "repost_count")) == before


def test_a_quote_embeds_its_tweet_both_ways() -> None:
    ann, bob = make_user("ann"), make_user("bob")
    tweet = tweet_create(author=ann, text="the original")
    client = _client(bob)
    first = _call(client, "POST", f"/tweets/{tweet.pk}/quotes", {"text": "so true"})
    assert first.status_code == 201, first.content
    second = _call(client, "POST", "/tweets", {"text": "again", "quote_of": tweet.pk})
    assert second.status_code == 201, second.content
    for body in (first.json(), second.json()):
        assert body["quote_of"] == tweet.pk
        assert body["quoted"]["id"] == tweet.pk
        assert body["quoted"]["text"] == "the original"
        assert body["quoted"]["author"]["username"] == "ann"
    tweet_delete(tweet_id=tweet.pk, user=ann)
    shown = Client().get(f"/api/v1/tweets/{first.json()['id']}").json()
    assert (shown["quote_of"], shown["quoted"]) == (tweet.pk, None)


def test_notifications_are_grouped_marked_read_and_counted_for_their_owner_only() -> None:
    ann, bob, cy = make_user("ann"), make_user("bob"), make_user("cy")
    tweet = tweet_create(author=ann, text="notice me")
    for liker in (bob, cy):
        _call(_client(liker), "PUT", f"/tweets/{tweet.pk}/like")
    _call(_client(bob), "PUT", f"/tweets/{tweet.pk}/repost")
    client = _client(ann)
    page = client.get("/api/v1/me/notifications").json()
    groups = {item["kind"]: item for item in page["items"]}
    assert set(groups) == {"like", "repost"}
    like = groups["like"]
    assert ([a["username"] for a in like["actors"]], like["count"], like["unread"]) == (["cy", "bob"], 2, True)
    assert like["tweet"]["id"] == tweet.pk
    assert page["next_cursor"] is None
    assert client.get("/api/v1/me/badges").json() == {"notifications": 2, "messages": 0}
    assert _client(bob).get("/api/v1/me/notifications").json()["items"] == []  # bob's own: none
    assert _call(_client(bob), "POST", "/me/notifications/read").json() == {"marked": 0}
    assert Notification.objects.filter(recipient=ann, unread=True).count() == 2  # bob marked nothing of ann's
    _problem(_call(_client(ann, ["read"]), "POST", "/me/notifications/read"), 403)
    assert _call(client, "POST", "/me/notifications/read").json() == {"marked": 2}
    assert client.get("/api/v1/me/badges").json() == {"notifications": 0, "messages": 0}
    assert all(not item["unread"] for item in client.get("/api/v1/me/notifications").json()["items"])


def test_notifications_page_by_cursor_without_gaps(settings: Any) -> None:
    settings.NOTIFICATIONS_PAGE_SIZE = 2
    ann = make_user("ann")
    tweets = [tweet_create(author=ann, text=f"t{n}") for n in range(5)]
    bob = _client(make_user("bob"))
    for tweet in tweets:
        _call(bob, "PUT", f"/tweets/{tweet.pk}/like")
    client, seen, cursor = _client(ann), [], None
    while True:
        body = client.get("/api/v1/me/notifications", {"cursor": cursor} if cursor else {}).json()
        seen += [item["tweet"]["id"] for item in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == [tweet.pk for tweet in reversed(tweets)]
    _problem(client.get("/api/v1/me/notifications", {"cursor": "nonsense!"}), 422)
