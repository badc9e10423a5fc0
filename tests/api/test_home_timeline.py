"""The API's home timeline: equal to the plain SQL answer page after page, past the end of the Redis
feed (where the read continues in Postgres), and as cheap as the page's read when warm."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from django.test.utils import override_settings
from django.utils import timezone

from accounts.models import FanoutMode, User, UserStats
from follows import feedstate
from follows.services import follow_create, follow_delete
from tests.api.conftest import bearer, token_for
from tests.conftest import RedisRoundTrips
from tests.factories import make_user
from tests.oracles import home_timeline_oracle
from timelines import services
from tweets.services import tweet_create, tweet_delete

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("eager_tasks")]


def _member(name: str) -> User:
    return make_user(name, last_active=timezone.now())


def _walk(client: Client) -> tuple[list[int], int]:
    """Every page of the API's home timeline, following next_cursor: the entry ids (a repost's own
    id for a reposted tweet, as the oracle lists them), and the pages read."""
    ids: list[int] = []
    cursor, pages = None, 0
    while True:
        response = client.get("/api/v1/timelines/home", {"cursor": cursor} if cursor else {})
        assert response.status_code == 200, response.content
        body = response.json()
        for item in body["items"]:  # a repost shows its original, saying who reposted it
            assert (item["entry_id"] != item["id"]) == (item["reposted_by"] is not None), item
        ids += [item["entry_id"] for item in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            return ids, pages
        assert pages < 100


def _api(client: Client, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    response = client.generic(
        method, f"/api/v1{path}", json.dumps(body) if body else "", content_type="application/json"
    )
    assert response.status_code in (200, 201), response.content
    return dict(response.json())


@override_settings(TIMELINE_LENGTH=8, TIMELINE_TRIM_SLACK=0, TIMELINE_PAGE_SIZE=5)
def test_pages_equal_the_sql_oracle_past_the_feed_cap() -> None:
    """tests/oracles.py's answer, with its reply rule, mutes and reposts: replies to followed and
    unfollowed people, self-threads, replies to the reader, a pull-mode followee's replies, reposts
    (shown, held back by the de-duplication rule, hidden by a mute) and a quote made through the
    API, a mute and a block made through the API, a deletion and an unfollow; read cold then warm,
    page after page, compared by entry id."""
    reader = _member("reader")
    friends = [_member(f"friend{n}") for n in range(5)]
    stranger, celebrity = _member("stranger"), _member("celebrity")
    for friend in [*friends, celebrity]:
        follow_create(follower=reader, followee=friend)
    UserStats.objects.filter(user_id=celebrity.pk).update(fanout_mode=FanoutMode.PULL)
    feedstate.pull_version_bump()
    services.feed_rebuild(user_id=reader.pk)
    clients = {user.pk: bearer(token_for(user, ["read", "write"])) for user in [reader, *friends, stranger, celebrity]}

    def post(author: User, text: str, in_reply_to: int | None = None) -> int:
        if in_reply_to is None:
            return int(_api(clients[author.pk], "POST", "/tweets", {"text": text})["id"])
        return int(_api(clients[author.pk], "POST", f"/tweets/{in_reply_to}/replies", {"text": text})["id"])

    posted = [post(friends[n % 5], f"friend tweet {n}") for n in range(23)]
    strangers = post(stranger, "a stranger's tweet")
    readers = post(reader, "own tweet")
    shown = [
        post(friends[0], "a reply to a followed friend", posted[1]),
        post(friends[1], "a self-thread", posted[1]),
        post(friends[3], "a reply to the reader", readers),
        post(reader, "the reader answers a stranger", strangers),
        post(celebrity, "a pull-mode reply to a friend", posted[1]),
    ]
    hidden = [
        post(friends[0], "a reply to someone the reader does not follow", strangers),
        post(stranger, "a stranger's reply to a friend", posted[0]),
        post(celebrity, "a pull-mode reply to a stranger", strangers),
    ]
    muted = [post(friends[0], "a reply to the muted friend", posted[2]), posted[2]]
    posted += [post(celebrity, f"celebrity tweet {n}") for n in range(4)]
    posted += [post(reader, f"own tweet {n}") for n in range(3)]

    def repost(user: User, tweet_id: int) -> int:
        return int(_api(clients[user.pk], "PUT", f"/tweets/{tweet_id}/repost")["repost_id"])

    reposts = {
        "a stranger's tweet, by a friend": repost(friends[1], strangers),
        "a friend's tweet the reader has, by a pull-mode friend": repost(celebrity, posted[1]),
        "a tweet of the friend muted below": repost(friends[0], posted[2]),
        "a repost of a repost": repost(friends[0], repost(friends[1], posted[6])),
    }
    quote = int(_api(clients[friends[0].pk], "POST", "/tweets", {"text": "quoting", "quote_of": strangers})["id"])
    posted += [post(friends[1], f"after the reposts {n}") for n in range(3)]
    services.author_list_rebuild(author_id=celebrity.pk)
    tweet_delete(tweet_id=posted[5], user=friends[0])
    follow_delete(follower=reader, followee=friends[3])  # their tweets leave the timeline
    _api(clients[reader.pk], "PUT", "/users/friend2/mute")  # theirs and replies to them leave it
    _api(clients[reader.pk], "PUT", "/users/friend4/block")  # the follow goes, and their tweets
    client = bearer(token_for(reader, ["read"]))

    expected = home_timeline_oracle(reader.pk)
    assert len(expected) > 8 * 2  # far past the feed's 8 ids
    assert set(shown[:2] + shown[3:]) <= set(expected)  # the scenario exercises the rule, both ways
    assert not set(hidden + muted) & set(expected)
    assert shown[2] not in expected  # friend3's reply to the reader went with the unfollow
    assert reposts["a stranger's tweet, by a friend"] in expected
    assert reposts["a friend's tweet the reader has, by a pull-mode friend"] not in expected  # de-duplicated
    assert reposts["a tweet of the friend muted below"] not in expected
    assert quote in expected
    for _ in range(2):  # cold (cards filled from SQL), then warm
        ids, pages = _walk(client)
        assert ids == expected
        assert pages == -(-len(expected) // 5) or pages == len(expected) // 5 + 1


def test_a_warm_api_home_read_is_no_query_and_two_redis_round_trips(
    redis_round_trips: RedisRoundTrips, django_assert_num_queries: Any
) -> None:
    """As a warm home page: the token's cached copy, its user's cached row and the activity in one
    call (api.tokencache), the feed's script in the other; no SQL."""
    reader = _member("reader")
    friends = [_member(f"friend{n}") for n in range(30)]
    for friend in friends:
        follow_create(follower=reader, followee=friend)
    services.feed_rebuild(user_id=reader.pk)
    for n in range(25):
        tweet_create(author=friends[n], text=f"hello {n} #tag @reader https://example.com/{n}")
    client = bearer(token_for(reader, ["read"]))
    for _ in range(2):  # cold: the token, then its user's row, cached; the page's cards
        assert client.get("/api/v1/timelines/home").status_code == 200

    redis_round_trips.clear()
    with django_assert_num_queries(0):
        response = client.get("/api/v1/timelines/home")
    assert response.status_code == 200
    assert redis_round_trips.count == 2, redis_round_trips.sent
    assert [item["id"] for item in response.json()["items"]] == home_timeline_oracle(reader.pk)[:20]
