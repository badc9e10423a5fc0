"""Home feeds on one server, on shards or on a cluster (tweethub.redis.FeedShards): `make test` runs
this module, the fan-out, read-path and property tests on each topology (devstack --feeds)."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test.utils import override_settings

from tests.conftest import RedisRoundTrips, feeds_apart
from timelines import store
from tweethub.redis import feed_shards

USERS = list(range(1, 301))
TWEET = 400_000_000_000_000


def _install(user_ids: list[int]) -> None:
    store.install(feeds_by_user={user_id: ([TWEET - 10, TWEET - 20], TWEET - 100) for user_id in user_ids})


def test_feeds_are_spread_over_every_feed_server() -> None:
    _install(USERS)
    nodes = feed_shards().nodes()
    held = [sum(1 for _ in node.scan_iter(match="tl:{*}", count=1000)) for node in nodes]
    assert sum(held) == len(USERS)
    if feeds_apart():
        assert len(nodes) >= 2
        assert all(count > 0 for count in held), held
    census = store.census(memory_limit=10)
    assert (census.count, census.measured) == (len(USERS), 10)


def test_a_push_is_one_call_per_feed_server_and_reaches_exactly_the_feeds(
    redis_round_trips: RedisRoundTrips,
) -> None:
    with_feed = USERS[::2]
    _install(with_feed)
    store.push(tweet_ids=[TWEET], user_ids=USERS)  # warm: connections, script loads

    redis_round_trips.clear()
    reached = store.push(tweet_ids=[TWEET + 1], user_ids=USERS)

    assert reached == with_feed  # in the order given, whichever server each feed is on
    assert redis_round_trips.count == len(feed_shards().nodes()), redis_round_trips.sent
    for user_id in USERS[:20]:
        page = store.page(user_id=user_id, before=None, limit=10)
        if user_id in with_feed:
            assert page is not None
            assert page.ids[:2] == [TWEET + 1, TWEET]
            assert page.floor == TWEET - 100
        else:
            assert page is None  # a push never creates a feed


@override_settings(TIMELINE_LENGTH=3, TIMELINE_TRIM_SLACK=1)
def test_trims_removes_and_drops_work_on_every_server() -> None:
    _install(USERS)
    for n in range(3):
        store.push(tweet_ids=[TWEET + n], user_ids=USERS)
    # 2 installed + 3 pushed = 5 ids > 3 + 1: trimmed back to 3, the floor raised to the highest removed.
    pages = [store.page(user_id=user_id, before=None, limit=10) for user_id in USERS]
    assert all(page is not None and page.ids == [TWEET + 2, TWEET + 1, TWEET] for page in pages)
    assert all(page is not None and page.floor == TWEET - 10 for page in pages)

    store.remove(tweet_ids=[TWEET + 1], user_ids=USERS)
    pages = [store.page(user_id=user_id, before=None, limit=10) for user_id in USERS]
    assert all(page is not None and page.ids == [TWEET + 2, TWEET] for page in pages)
    store.drop(user_ids=USERS[:150])
    assert [store.exists(user_id=user_id) for user_id in (USERS[0], USERS[149], USERS[150])] == [False, False, True]


def test_a_rebuild_keeps_what_was_pushed_meanwhile_on_any_server() -> None:
    tokens = {user_id: store.begin_rebuild(user_id=user_id) for user_id in USERS[:30]}
    assert None not in tokens.values()
    assert store.begin_rebuild(user_id=USERS[0]) is None  # one rebuild at a time
    assert store.push(tweet_ids=[TWEET], user_ids=USERS[:30]) == USERS[:30]  # the buffers took it
    for user_id, token in tokens.items():
        assert token is not None
        size = store.finish_rebuild(user_id=user_id, tweet_ids=[TWEET - 5], floor=TWEET - 50, token=token)
        assert size == 2
        assert store.page(user_id=user_id, before=None, limit=10).ids == [TWEET, TWEET - 5]  # type: ignore[union-attr]


@pytest.mark.skipif(
    not settings.FEEDS_REDIS_CLUSTER, reason="only a cluster refuses keys of several slots in one call"
)
def test_a_cluster_node_runs_the_push_over_many_slots() -> None:
    """What makes the cluster's push one call per node: keys of many slots in one script, which a
    cluster refuses when they are declared (CROSSSLOT) and allows, undeclared, with the flag."""
    _install(USERS)
    shards = feed_shards()
    node = shards.node(USERS[0])
    mine = [user_id for user_id in USERS if shards.node(user_id) is node]
    assert len({shards.slot(user_id) for user_id in mine}) > 1
    assert store.push(tweet_ids=[TWEET], user_ids=mine) == mine


@override_settings(TIMELINE_LENGTH=2, TIMELINE_TRIM_SLACK=0)
def test_ids_at_or_below_the_floor_never_enter_a_feed_so_the_floor_member_stays_lowest() -> None:
    user = USERS[0]
    store.install(feeds_by_user={user: ([TWEET, TWEET - 100], TWEET - 100)})  # one id AT the floor
    assert store.page(user_id=user, before=None, limit=10).ids == [TWEET]  # type: ignore[union-attr]
    assert store.push(tweet_ids=[TWEET - 200], user_ids=[user]) == []  # below the floor: not taken
    for n in (1, 2):  # over the cap of 2: the trim must drop the oldest id, never the floor member
        store.push(tweet_ids=[TWEET + n], user_ids=[user])
    page = store.page(user_id=user, before=None, limit=10)
    assert page is not None
    assert (page.ids, page.floor) == ([TWEET + 2, TWEET + 1], TWEET)
