"""Tweet ids come from Postgres, sort by time, and stay exact as Redis scores (< 2**53)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from tests.factories import make_user
from tweethub.ids import MAX_ID, id_for_time, time_of_id
from tweets.models import Tweet


@pytest.mark.django_db
def test_ids_are_time_sortable_and_fit_a_double() -> None:
    author = make_user("ida")
    ids = [Tweet.objects.create(author=author, text=f"t{n}").id for n in range(50)]
    assert ids == sorted(ids)
    assert len(set(ids)) == 50
    assert all(0 < tweet_id <= MAX_ID for tweet_id in ids)
    assert float(ids[-1]) == ids[-1]  # exact as a Redis score / JavaScript number
    assert abs(time_of_id(ids[-1]) - timezone.now()) < timedelta(seconds=5)


def test_python_ids_match_the_layout() -> None:
    moment = datetime(2026, 5, 17, 12, 0, 0, tzinfo=UTC)
    assert time_of_id(id_for_time(moment, sequence=7)) == moment
    assert id_for_time(moment, 1) < id_for_time(moment + timedelta(milliseconds=1), 0)
