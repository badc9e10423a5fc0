"""feeds_bulk_build (seeding, benchmarks) must give exactly the feeds feed_rebuild gives."""

from __future__ import annotations

import random

import pytest
from django.test.utils import override_settings

from follows.models import Follow
from tests.factories import make_user
from timelines import services, store
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
