"""Account deletion: the other side's counts are fixed set-based, in a constant number of queries."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext, override_settings

from accounts.models import FollowerShard, User
from accounts.selectors import stats_of
from accounts.services import follower_shards_fold, user_delete
from follows.models import Follow
from follows.services import follow_create
from tests.factories import make_user


def _account_with_follows(name: str, edges: int) -> tuple[User, list[User]]:
    """`name` follows `edges` people and is followed by `edges` others (different people)."""
    user = make_user(name)
    followed = [make_user(f"{name}_f{i}") for i in range(edges)]
    fans = [make_user(f"{name}_g{i}") for i in range(edges)]
    for other in followed:
        follow_create(follower=user, followee=other)
    for fan in fans:
        follow_create(follower=fan, followee=user)
    return user, followed + fans


def _delete_counting(user: User) -> int:
    with CaptureQueriesContext(connection) as queries:
        user_delete(user=User.objects.get(pk=user.pk))
    return len(queries.captured_queries)


@pytest.mark.django_db
@override_settings(RATE_LIMIT_FOLLOWS_PER_USER="100000/1h")
def test_deleting_an_account_costs_the_same_queries_whatever_its_follows() -> None:
    """Issue 20, point 4: no UPDATE per follow edge. 2 follows each way or 30: the same number of
    queries, and every other account's counts are exact afterwards (folded or not)."""
    few, few_others = _account_with_follows("few", 2)
    many, many_others = _account_with_follows("many", 30)
    follower_shards_fold()  # part of the counts folded, part (below) still in shards
    late = make_user("late")
    follow_create(follower=late, followee=many)
    follow_create(follower=many, followee=late)

    assert _delete_counting(few) == _delete_counting(many)

    others = [*few_others, *many_others, late]
    counted = stats_of([user.pk for user in others])
    for user in others:
        exact = (Follow.objects.filter(followee=user).count(), Follow.objects.filter(follower=user).count())
        assert (counted[user.pk].followers, counted[user.pk].following) == exact, user
    assert counted[late.pk].followers == counted[late.pk].following == 0
    assert not FollowerShard.objects.filter(user_id__in=[few.pk, many.pk]).exists()
    follower_shards_fold()
    assert stats_of([late.pk])[late.pk].followers == 0
