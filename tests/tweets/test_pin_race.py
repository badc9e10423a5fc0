"""Two pins by one author at the same moment (a double click on two tweets, two tabs)."""

from __future__ import annotations

import threading

import pytest
from django.db import close_old_connections, connection, transaction

from tests.factories import make_user
from tests.races import wait_until_a_backend_waits_on_a_lock
from tweets import services
from tweets.models import Tweet


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
                wait_until_a_backend_waits_on_a_lock("the second pin")
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
