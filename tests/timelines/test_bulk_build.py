"""feeds_bulk_build (seeding, benchmarks) must give exactly the feeds feed_rebuild gives."""

from __future__ import annotations

import random

import pytest
from django.test.utils import override_settings

from follows.models import Follow, Mute
from tests.factories import make_user
from tests.oracles import home_timeline_oracle
from timelines import services, store
from timelines.selectors import home_timeline
from tweets.models import Tweet

pytestmark = pytest.mark.django_db


def _snapshot(user_ids: list[int]) -> dict[int, tuple[list[int], int] | None]:
    pages = {user_id: store.page(user_id=user_id, before=None, limit=1000) for user_id in user_ids}
    return {user_id: None if page is None else (page.ids, page.floor) for user_id, page in pages.items()}


@override_settings(TIMELINE_LENGTH=8)
def test_bulk_built_feeds_equal_rebuilt_ones() -> None:
    rng = random.Random(3)
    users = [make_user(f"bulk{n}").pk for n in range(12)]
    # Uneven output: some authors have more than a feed holds, some none; a user with no follows.
    Tweet.objects.bulk_create(
        [Tweet(author_id=author, text="x") for author in users[:9] for _ in range(rng.randrange(0, 14))]
    )
    Follow.objects.bulk_create(
        [Follow(follower_id=a, followee_id=b) for a in users[1:] for b in rng.sample(users, 5) if a != b]
    )

    for user_id in users:
        services.feed_rebuild(user_id=user_id)
    rebuilt = _snapshot(users)
    store.drop(user_ids=users)

    written = services.feeds_bulk_build(user_ids=users, batch_size=5)

    assert written == len(users)
    assert _snapshot(users) == rebuilt
    assert {floor for _, floor in filter(None, rebuilt.values())} - {0}, "no feed was full: the floor went untested"


def test_bulk_build_refuses_more_ids_than_a_feed_holds() -> None:
    with pytest.raises(ValueError, match="over TIMELINE_LENGTH"):
        store.install(feeds_by_user={1: (list(range(200, 0, -1)), 0)})


@override_settings(TIMELINE_LENGTH=8)
def test_bulk_built_feeds_with_reposts_read_as_the_oracle() -> None:
    """Reposts, some held back by the de-duplication rule, some of a muted account's tweets: the
    bulk-built feeds (reconciled where they hold a repost) read exactly as the plain SQL answer."""
    rng = random.Random(5)
    users = [make_user(f"bulkr{n}").pk for n in range(10)]
    Tweet.objects.bulk_create([Tweet(author_id=author, text="x") for author in users[:6] for _ in range(4)])
    Follow.objects.bulk_create(
        [Follow(follower_id=a, followee_id=b) for a in users for b in rng.sample(users, 4) if a != b]
    )
    originals = list(Tweet.objects.values_list("id", "author_id"))
    for reposter in users[3:]:
        for original, author in rng.sample(originals, 3):
            Tweet.objects.get_or_create(
                author_id=reposter, repost_of=original, defaults={"text": "", "repost_of_author_id": author}
            )
    Mute.objects.create(muter_id=users[7], muted_id=users[0])

    services.feeds_bulk_build(user_ids=users, batch_size=4)

    held_back = 0
    for user_id in users:
        # Pages of 3, as the feed serves them (a page past the feed would go the plain SQL way).
        shown: list[int] = []
        before = None
        while True:
            page = home_timeline(user_id=user_id, before=before, limit=3)
            shown += [tweet.entry for tweet in page.items]
            if page.next_cursor is None:
                break
            before = page.next_cursor
        assert shown == home_timeline_oracle(user_id), user_id
        held_back += Tweet.objects.timeline_entries_of(user_id).count() - len(shown)
    assert held_back, "no repost was held back: the de-duplication went untested"
