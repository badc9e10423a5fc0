"""Two pins by one author at the same moment (a double click on two tweets, two tabs)."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import close_old_connections, connection, transaction

from tests.factories import make_user
from tweets import services
from tweets.models import Tweet


def _wait_until_a_backend_waits_on_a_lock(timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            row = cursor.fetchone()
            if row is not None and row[0] > 0:
                return
            time.sleep(0.02)
    raise AssertionError("the second pin never waited for the first")


@pytest.mark.django_db(transaction=True)
def test_concurrent_pins_of_two_tweets_leave_exactly_one_pinned() -> None:
    ann = make_user("ann")
    first, second = Tweet.objects.create(author=ann, text="first"), Tweet.objects.create(author=ann, text="second")
    first_pinned = threading.Event()
    errors: list[BaseException] = []

    def pin_first_and_hold() -> None:
        try:
            with transaction.atomic():
                services.tweet_pin(tweet_id=first.pk, user=ann)
                first_pinned.set()
                # Commit only once the other pin is inside its own transaction, waiting on us.
                _wait_until_a_backend_waits_on_a_lock()
        except BaseException as error:  # reported to the test thread below
            errors.append(error)
            first_pinned.set()
        finally:
            close_old_connections()
            connection.close()

    holder = threading.Thread(target=pin_first_and_hold)
    holder.start()
    assert first_pinned.wait(10)
    try:
        services.tweet_pin(tweet_id=second.pk, user=ann)
    finally:
        holder.join(15)
    assert errors == []
    assert Tweet.objects.filter(author=ann, pinned=True).count() == 1
