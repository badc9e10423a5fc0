"""The API's blocks and mutes over follows.services and follows.blocks: what each does (as the
profile's buttons), idempotence, the caller's own lists paged without gaps, and refusals that are
problem documents and write nothing. Tasks run eagerly (a mute's feed cleanup)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.test.utils import override_settings
from django.utils import timezone

from accounts.models import User
from follows.models import Block, Follow, Mute
from follows.services import follow_create
from tests.api.conftest import bearer, token_for
from tests.api.test_basics import _problem
from tests.factories import make_user
from tests.oracles import home_timeline_oracle
from timelines import services as timeline_services
from tweets.services import tweet_create

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("eager_tasks")]


def _client(user: User) -> Client:
    return bearer(token_for(user, ["read", "write"]))


def _relations() -> object:
    return (
        sorted(Block.objects.values_list("blocker_id", "blocked_id")),
        sorted(Mute.objects.values_list("muter_id", "muted_id")),
        sorted(Follow.objects.values_list("follower_id", "followee_id")),
    )


def _change(client: Client, method: str, path: str) -> Any:
    return client.generic(method, f"/api/v1{path}")


def _home(client: Client) -> list[int]:
    response = client.get("/api/v1/timelines/home")
    assert response.status_code == 200, response.content
    return [item["id"] for item in response.json()["items"]]


def test_block_removes_follows_both_ways_and_unblock_keeps_them_removed() -> None:
    ann, bob = make_user("ann"), make_user("bob")
    follow_create(follower=ann, followee=bob)
    follow_create(follower=bob, followee=ann)
    client = _client(ann)

    first = _change(client, "PUT", "/users/bob/block")
    assert (first.status_code, first.json()) == (200, {"blocking": True, "changed": True})
    assert _change(client, "PUT", "/users/@BOB/block").json() == {"blocking": True, "changed": False}
    assert not Follow.objects.filter(follower__in=[ann, bob]).exists()
    assert list(Block.objects.values_list("blocker_id", "blocked_id")) == [(ann.pk, bob.pk)]
    # From then on bob cannot follow ann (the follow service's refusal, as on the page).
    before = _relations()
    _problem(_change(_client(bob), "PUT", "/users/ann/follow"), 422)
    assert _relations() == before
    profile = Client().get("/api/v1/users/ann").json()
    assert (profile["followers"], profile["following"]) == (0, 0)

    assert _change(client, "DELETE", "/users/bob/block").json() == {"blocking": False, "changed": True}
    assert _change(client, "DELETE", "/users/bob/block").json() == {"blocking": False, "changed": False}
    assert not Block.objects.exists()
    assert not Follow.objects.exists()


def test_mute_takes_their_tweets_out_of_the_home_timeline_until_unmuted() -> None:
    ann, bob, cat = make_user("ann", last_active=timezone.now()), make_user("bob"), make_user("cat")
    follow_create(follower=ann, followee=bob)
    follow_create(follower=ann, followee=cat)
    timeline_services.feed_rebuild(user_id=ann.pk)
    bobs = tweet_create(author=bob, text="bob's")
    cats = tweet_create(author=cat, text="cat's")
    answer = tweet_create(author=cat, text="cat answers bob", in_reply_to=bobs.pk)
    client = _client(ann)
    assert _home(client) == [answer.pk, cats.pk, bobs.pk] == home_timeline_oracle(ann.pk)

    assert _change(client, "PUT", "/users/bob/mute").json() == {"muting": True, "changed": True}
    assert _change(client, "PUT", "/users/bob/mute").json() == {"muting": True, "changed": False}
    assert _home(client) == [cats.pk] == home_timeline_oracle(ann.pk)  # a reply to bob goes too
    assert Follow.objects.filter(follower=ann, followee=bob).exists()  # a mute is not an unfollow

    assert _change(client, "DELETE", "/users/bob/mute").json() == {"muting": False, "changed": True}
    assert _home(client) == [answer.pk, cats.pk, bobs.pk] == home_timeline_oracle(ann.pk)


@override_settings(TIMELINE_PAGE_SIZE=2)
def test_ones_blocks_and_mutes_are_listed_newest_first_without_gaps_and_only_to_oneself() -> None:
    ann, bob = make_user("ann"), make_user("bob")
    others = [make_user(f"other{n}") for n in range(5)]
    client = _client(ann)
    for other in others:
        assert _change(client, "PUT", f"/users/{other.username}/block").status_code == 200
        assert _change(client, "PUT", f"/users/{other.username}/mute").status_code == 200
    _change(_client(bob), "PUT", "/users/other0/mute")
    for which in ("blocks", "mutes"):
        names: list[str] = []
        cursor, pages = None, 0
        while True:
            response = client.get(f"/api/v1/me/{which}", {"cursor": cursor} if cursor else {})
            assert response.status_code == 200, response.content
            names += [item["username"] for item in response.json()["items"]]
            pages += 1
            cursor = response.json()["next_cursor"]
            if cursor is None:
                break
        assert names == [other.username for other in reversed(others)]
        assert pages == 3
    assert [item["username"] for item in _client(bob).get("/api/v1/me/mutes").json()["items"]] == ["other0"]
    assert _client(bob).get("/api/v1/me/blocks").json() == {"items": [], "next_cursor": None}
    _problem(Client().get("/api/v1/me/blocks"), 401)


@pytest.mark.parametrize("path", ["/users/{}/block", "/users/{}/mute"])
@pytest.mark.parametrize("method", ["PUT", "DELETE"])
def test_refusals_write_nothing(path: str, method: str) -> None:
    ann = make_user("ann")
    newcomer = make_user("newcomer", verified=False)
    make_user("bob")
    before = _relations()
    body = _problem(_change(_client(ann), method, path.format("ann")), 422)
    assert "yourself" in body["detail"]
    _problem(_change(_client(newcomer), method, path.format("bob")), 403)
    _problem(_change(_client(ann), method, path.format("nobody")), 404)
    _problem(_change(bearer(token_for(ann, ["read"])), method, path.format("bob")), 403)  # scope
    _problem(_change(Client(), method, path.format("bob")), 401)
    assert _relations() == before


@override_settings(RATE_LIMIT_BLOCKS_PER_USER="2/1h")
def test_blocks_and_mutes_share_the_pages_rate_limit() -> None:
    ann = make_user("ann")
    for name in ("bob", "cat", "dan"):
        make_user(name)
    client = _client(ann)
    assert _change(client, "PUT", "/users/bob/block").status_code == 200
    assert _change(client, "PUT", "/users/cat/mute").status_code == 200
    before = _relations()
    limited = _change(client, "PUT", "/users/dan/block")
    _problem(limited, 429)
    assert int(limited["Retry-After"]) > 0
    assert _relations() == before


def test_search_leaves_out_accounts_hidden_from_the_caller_on_the_page_and_in_the_api() -> None:
    """One rule for both (follows.blocks.without_hidden, search_tweets(viewer_id=)): a block either
    way hides tweets and people from each other's searches; a mute hides the person too."""
    ann, bob, cat, dan = (make_user(name, name=f"Zebra {name}") for name in ("ann", "bob", "cat", "dan"))
    for user in (bob, cat, dan):
        tweet_create(author=user, text=f"zebra crossing by {user.username}")
    client = _client(ann)
    _change(client, "PUT", "/users/bob/block")
    _change(_client(cat), "PUT", "/users/ann/block")
    _change(client, "PUT", "/users/dan/mute")

    tweets = client.get("/api/v1/search/tweets", {"q": "zebra"}).json()["items"]
    assert [item["author"]["username"] for item in tweets] == ["dan"]  # a mute is not a block
    people = [item["username"] for item in client.get("/api/v1/search/users", {"q": "zebra"}).json()]
    assert people == ["ann"]  # bob and cat (blocks) and dan (muted) left out
    page = Client()
    page.force_login(ann)
    html = page.get("/search/", {"q": "zebra"}).content.decode()
    assert "@bob" not in html
    assert "@cat" not in html
    assert "zebra crossing by dan" in html
    visitor = [item["username"] for item in Client().get("/api/v1/search/users", {"q": "zebra"}).json()]
    assert sorted(visitor) == ["ann", "bob", "cat", "dan"]
