"""The API's replies and threads over the pages' service and selector: the reply fields on cards,
replies both ways (POST /tweets with in_reply_to, POST /tweets/{id}/replies), the thread paged
oldest first like the tweet page, a person's tweets and replies, and every refusal a problem
document that writes nothing. Real Postgres and Redis."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext, override_settings

from accounts.models import User
from api.cursors import next_cursor
from follows.services import block_create, mute_create
from moderation.services import account_suspend
from tests.api.conftest import bearer, token_for
from tests.api.test_basics import _problem
from tests.factories import make_user
from tweets.models import Tweet
from tweets.services import tweet_create, tweet_delete

pytestmark = pytest.mark.django_db(transaction=True)


def _client(user: User, scopes: list[str] | None = None) -> Client:
    return bearer(token_for(user, scopes or ["read", "write"]))


def _snapshot() -> object:
    return sorted(Tweet.objects.values_list("id", "reply_count", "in_reply_to", "text"))


def _reply(client: Client, tweet_id: int, text: str) -> Any:
    return client.post(f"/api/v1/tweets/{tweet_id}/replies", {"text": text}, content_type="application/json")


def test_replies_both_ways_carry_their_parent_root_author_and_count() -> None:
    ann, bob = make_user("ann"), make_user("bob")
    root = tweet_create(author=ann, text="root")
    first = _reply(_client(bob), root.pk, "first answer")
    assert first.status_code == 201, first.content
    body = first.json()
    assert (body["in_reply_to"], body["conversation_root"]) == (root.pk, root.pk)
    assert (body["reply_to_user_id"], body["reply_to_username"], body["reply_count"]) == (ann.pk, "ann", 0)
    second = _client(ann).post(
        "/api/v1/tweets", {"text": "second", "in_reply_to": body["id"]}, content_type="application/json"
    )
    assert second.status_code == 201, second.content
    assert (second.json()["in_reply_to"], second.json()["conversation_root"]) == (body["id"], root.pk)
    assert second.json()["reply_to_username"] == "bob"

    shown = Client().get(f"/api/v1/tweets/{root.pk}").json()
    assert shown["reply_count"] == 1
    assert (shown["in_reply_to"], shown["conversation_root"], shown["reply_to_username"]) == (None, None, None)
    assert Client().get(f"/api/v1/tweets/{body['id']}").json()["reply_count"] == 1


@override_settings(REPLIES_PAGE_SIZE=3)
def test_the_thread_pages_replies_oldest_first_with_the_ancestors_on_the_first_page() -> None:
    ann, bob, cat = make_user("ann"), make_user("bob"), make_user("cat")
    root = tweet_create(author=ann, text="root")
    middle = tweet_create(author=bob, text="middle", in_reply_to=root.pk)
    replies = [tweet_create(author=[ann, cat][n % 2], text=f"reply {n}", in_reply_to=middle.pk) for n in range(7)]
    tweet_create(author=cat, text="elsewhere", in_reply_to=root.pk)  # a sibling: not middle's reply

    seen: list[int] = []
    cursor, pages = None, 0
    while True:
        response = Client().get(f"/api/v1/tweets/{middle.pk}/thread", {"cursor": cursor} if cursor else {})
        assert response.status_code == 200, response.content
        body = response.json()
        assert body["tweet_id"] == middle.pk
        assert body["tweet"]["text"] == "middle"
        ancestors = [(item["id"], item["tweet"]["text"]) for item in body["ancestors"]]
        assert ancestors == ([(root.pk, "root")] if pages == 0 else [])
        seen += [item["id"] for item in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == [reply.pk for reply in replies]
    assert pages == 3

    # A newest-first list's cursor is not a thread's: refused on the field, not misread.
    newest_first = next_cursor(replies[0].pk)
    assert newest_first is not None
    body = _problem(Client().get(f"/api/v1/tweets/{middle.pk}/thread", {"cursor": newest_first}), 422)
    assert body["errors"][0]["field"] == "cursor"


def test_a_deleted_tweet_keeps_its_thread_for_its_replies_and_refuses_new_ones() -> None:
    ann, bob = make_user("ann"), make_user("bob")
    lonely = tweet_create(author=ann, text="nobody answered")
    answered = tweet_create(author=ann, text="answered")
    reply = tweet_create(author=bob, text="an answer", in_reply_to=answered.pk)
    tweet_delete(tweet_id=lonely.pk, user=ann)
    tweet_delete(tweet_id=answered.pk, user=ann)

    _problem(Client().get(f"/api/v1/tweets/{lonely.pk}/thread"), 404)
    body = Client().get(f"/api/v1/tweets/{answered.pk}/thread").json()
    assert body["tweet"] is None
    assert [item["id"] for item in body["items"]] == [reply.pk]
    assert Client().get(f"/api/v1/tweets/{reply.pk}/thread").json()["ancestors"] == [
        {"id": answered.pk, "tweet": None}
    ]

    client, before = _client(bob), _snapshot()
    refused = _problem(_reply(client, answered.pk, "too late"), 409)
    assert refused["errors"] == [{"field": "tweet_id", "message": refused["detail"]}]
    refused = _problem(
        client.post("/api/v1/tweets", {"text": "too late", "in_reply_to": lonely.pk}, content_type="application/json"),
        409,
    )
    assert refused["errors"][0]["field"] == "in_reply_to"
    assert _snapshot() == before


@pytest.mark.parametrize("who_blocks", ["author", "replier"])
def test_a_block_either_way_hides_the_tweet_from_a_reply(who_blocks: str) -> None:
    ann, bob = make_user("ann"), make_user("bob")
    tweet = tweet_create(author=ann, text="ann's tweet")
    if who_blocks == "author":
        block_create(blocker=ann, blocked=bob)
    else:
        block_create(blocker=bob, blocked=ann)
    client, before = _client(bob), _snapshot()
    body = _problem(_reply(client, tweet.pk, "hello"), 404)
    assert "block" not in body["detail"].lower()  # a block is never revealed to the one blocked
    _problem(
        client.post("/api/v1/tweets", {"text": "hello", "in_reply_to": tweet.pk}, content_type="application/json"),
        404,
    )
    assert _snapshot() == before


def test_a_suspended_authors_tweet_takes_no_reply_and_an_unverified_caller_none_at_all() -> None:
    ann, bob, staff = make_user("ann"), make_user("bob"), make_user("operator", is_staff=True)
    newcomer = make_user("newcomer", verified=False)
    tweet = tweet_create(author=ann, text="ann's tweet")
    before = _snapshot()
    _problem(_reply(_client(newcomer), tweet.pk, "hi"), 403)
    account_suspend(moderator=staff, user_id=ann.pk)
    _problem(_reply(_client(bob), tweet.pk, "hi"), 404)
    _problem(Client().get(f"/api/v1/tweets/{tweet.pk}/thread"), 404)
    assert _snapshot() == before


def test_the_thread_leaves_out_replies_by_accounts_hidden_from_the_viewer() -> None:
    ann, bob, cat, dan = (make_user(name) for name in ("ann", "bob", "cat", "dan"))
    root = tweet_create(author=ann, text="root")
    by = {
        user.username: tweet_create(author=user, text=f"from {user.username}", in_reply_to=root.pk)
        for user in (bob, cat, dan)
    }
    block_create(blocker=ann, blocked=bob)  # after bob replied: his reply stays, hidden from ann
    mute_create(muter=ann, muted=cat)

    def replies(client: Client) -> list[int]:
        return [item["id"] for item in client.get(f"/api/v1/tweets/{root.pk}/thread").json()["items"]]

    assert replies(_client(ann, ["read"])) == [by["dan"].pk]
    assert replies(_client(bob, ["read"])) == [by["bob"].pk, by["cat"].pk, by["dan"].pk]  # ann wrote none
    assert replies(Client()) == [by["bob"].pk, by["cat"].pk, by["dan"].pk]


def test_a_persons_tweets_leave_replies_to_others_out_and_tweets_and_replies_keeps_them() -> None:
    ann, bob = make_user("ann"), make_user("bob")
    bobs = tweet_create(author=bob, text="bob's")
    own = tweet_create(author=ann, text="ann's own")
    self_thread = tweet_create(author=ann, text="ann continues", in_reply_to=own.pk)
    answer = tweet_create(author=ann, text="ann answers bob", in_reply_to=bobs.pk)

    def ids(path: str) -> list[int]:
        response = Client().get(path)
        assert response.status_code == 200, response.content
        return [item["id"] for item in response.json()["items"]]

    assert ids("/api/v1/users/ann/tweets") == [self_thread.pk, own.pk]
    assert ids("/api/v1/users/ann/tweets-and-replies") == [answer.pk, self_thread.pk, own.pk]
    _problem(Client().get("/api/v1/users/nobody/tweets-and-replies"), 404)


def test_a_threads_queries_do_not_grow_with_its_replies() -> None:
    """The page's constant cost (tweets.selectors.thread), warm: one query for the ancestors, one
    for the reply ids, one for the caller's likes and bookmarks of the whole thread
    (tweets.selectors.engagement_of, as the page); the token, the hidden accounts and the cards
    come from Redis."""
    ann, bob = make_user("ann"), make_user("bob")
    client = _client(ann, ["read"])
    counts = []
    for size in (2, 12):
        root = tweet_create(author=ann, text=f"root {size}")
        parent = tweet_create(author=bob, text="parent", in_reply_to=root.pk)
        for n in range(size):
            tweet_create(author=[ann, bob][n % 2], text=f"reply {n}", in_reply_to=parent.pk)
        for _ in range(2):  # the token, its user's row, the cards and the hidden set cached
            client.get(f"/api/v1/tweets/{parent.pk}/thread")
        with CaptureQueriesContext(connection) as queries:
            response = client.get(f"/api/v1/tweets/{parent.pk}/thread")
        assert response.status_code == 200
        assert len(response.json()["items"]) == size
        counts.append(len(queries))
    assert counts == [3, 3]
