"""A like made while the broker is down notifies its author once the broker is back: the
notification waits in the Postgres outbox, not in the dead broker (issue 21: "nothing lost")."""

from __future__ import annotations

from typing import Any

import pytest
from celery.contrib.testing.worker import start_worker
from django.test import Client

from devstack.servers import Redis
from notifications.models import Notification
from tests.factories import make_user
from tests.tweethub.test_outbox import own_broker  # noqa: F401 - the fixture
from tests.waiting import eventually
from tweethub import outbox
from tweethub.celery import app as celery_app
from tweethub.models import OutboxTask
from tweets.models import Tweet


@pytest.mark.django_db(transaction=True)
def test_a_like_during_a_broker_outage_notifies_once_the_broker_is_back(
    own_broker: Redis,  # noqa: F811 - the fixture imported above
    settings: Any,
) -> None:
    settings.OUTBOX_GRACE_SECONDS = 0
    ann, bob = make_user("ann"), make_user("bob")
    tweet = Tweet.objects.create(author=ann, text="like me later")
    own_broker.stop()
    client = Client()
    client.force_login(bob)
    assert client.post(f"/tweets/{tweet.pk}/like/").status_code == 302
    assert Tweet.objects.get(pk=tweet.pk).like_count == 1  # the like itself is saved at once
    assert list(OutboxTask.objects.values_list("task", "args")) == [
        ("notifications.tasks.notify_task", ["like", bob.pk, ann.pk, tweet.pk])
    ]
    assert outbox.relay() == 0  # still down: kept, attempt counted
    assert not Notification.objects.exists()

    own_broker.start()
    with start_worker(celery_app, pool="solo", perform_ping_check=False, loglevel="WARNING", shutdown_timeout=30):
        assert outbox.relay() == 1
        assert eventually(lambda: Notification.objects.filter(recipient=ann, kind="like").exists())
    assert not OutboxTask.objects.exists()
    assert Notification.objects.get(recipient=ann).event_count == 1
