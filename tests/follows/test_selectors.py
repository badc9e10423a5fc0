from __future__ import annotations

from typing import Any

import pytest

from follows.models import Follow
from follows.selectors import followed_among, followers_page, following_page, is_following
from follows.services import follow_create
from tests.factories import make_user

pytestmark = pytest.mark.django_db


def test_is_following_and_followed_among() -> None:
    ann, bob, cat, dan = (make_user() for _ in range(4))
    follow_create(follower=ann, followee=bob)
    follow_create(follower=ann, followee=dan)
    follow_create(follower=cat, followee=ann)
    assert is_following(follower_id=ann.pk, followee_id=bob.pk)
    assert not is_following(follower_id=bob.pk, followee_id=ann.pk)
    assert not is_following(follower_id=None, followee_id=ann.pk)
    assert followed_among(follower_id=ann.pk, user_ids=[bob.pk, cat.pk, dan.pk, ann.pk]) == {bob.pk, dan.pk}
    assert followed_among(follower_id=None, user_ids=[bob.pk]) == set()


def test_followed_among_is_one_query_and_none_for_nothing(django_assert_num_queries: Any) -> None:
    ann = make_user()
    others = [make_user() for _ in range(30)]
    for other in others[:10]:
        follow_create(follower=ann, followee=other)
    with django_assert_num_queries(1):
        assert len(followed_among(follower_id=ann.pk, user_ids=[o.pk for o in others])) == 10
    with django_assert_num_queries(0):
        assert followed_among(follower_id=ann.pk, user_ids=[]) == set()


def test_pages_use_follow_ids_as_cursor(django_assert_num_queries: Any) -> None:
    star, viewer = make_user(), make_user()
    fans = [make_user() for _ in range(5)]
    for fan in fans:
        follow_create(follower=fan, followee=star)
    follow_create(follower=viewer, followee=fans[1])
    with django_assert_num_queries(2):
        page = followers_page(user_id=star.pk, viewer_id=viewer.pk, before=None, limit=3)
    assert [row.person for row in page.items] == [fans[4], fans[3], fans[2]]
    assert page.next_cursor == Follow.objects.get(follower=fans[2]).pk
    page = followers_page(user_id=star.pk, viewer_id=viewer.pk, before=page.next_cursor, limit=3)
    assert [(row.person, row.is_following) for row in page.items] == [(fans[1], True), (fans[0], False)]
    assert page.next_cursor is None

    page = following_page(user_id=fans[0].pk, viewer_id=None, before=None, limit=3)
    assert [(row.person, row.is_following) for row in page.items] == [(star, False)]
