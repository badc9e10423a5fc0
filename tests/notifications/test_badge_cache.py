"""The unread badge counts cached in Redis (tweethub.badges): a warm page reads them in the session's
round trip, a miss counts once in Postgres, every change drops them after its commit, and a fill
that read Postgres before a change never writes the old counts back."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from messaging.models import Conversation
from messaging.services import conversation_mark_read, message_send
from notifications import selectors, services
from tests.factories import make_user
from tweethub import badges
from tweethub.redis import cache as cache_redis


def _cached(user: Any) -> str | None:
    raw = cache_redis().get(badges.key(user.pk))
    return None if raw is None else raw.decode() if isinstance(raw, bytes) else str(raw)


@pytest.mark.django_db(transaction=True)
def test_a_miss_counts_once_then_pages_read_the_cache_until_a_change_commits(
    django_assert_num_queries: Any, redis_round_trips: Any
) -> None:
    ann, bob = make_user("ann"), make_user("bob")
    client = Client()
    client.force_login(ann)
    client.get("/search/")
    assert _cached(ann) == "0,0"
    services.notify(kind="follow", actor_id=bob.pk, recipient_id=ann.pk)  # commits: drops the key
    assert _cached(ann) == "1,0"  # counted again by the live push that followed the commit
    client.get("/search/")  # warm the rest of the page
    redis_round_trips.clear()
    with django_assert_num_queries(0):  # the session, the user and the badges: one round trip
        html = client.get("/search/").content.decode()
    assert redis_round_trips.count == 1, redis_round_trips.sent
    assert 'data-badge="notifications"><span aria-hidden="true">1<' in html
    services.notifications_mark_all_read(user=ann)
    assert _cached(ann) == "0,0"
    assert 'data-badge="notifications" hidden>' in client.get("/search/").content.decode()


@pytest.mark.django_db(transaction=True)
def test_a_message_drops_both_counts_and_reading_it_the_readers() -> None:
    ann, bob = make_user("ann"), make_user("bob")
    assert (selectors.badge_counts(ann.pk).messages, selectors.badge_counts(bob.pk).messages) == (0, 0)
    message_send(sender=bob, recipient=ann, text="hello")  # the notify task is not run here
    assert _cached(ann) is None
    assert _cached(bob) is None
    assert (selectors.badge_counts(ann.pk).messages, selectors.badge_counts(bob.pk).messages) == (1, 0)
    conversation = Conversation.objects.get()
    conversation_mark_read(conversation=conversation, user=ann)
    assert selectors.badge_counts(ann.pk).messages == 0


@pytest.mark.django_db(transaction=True)
def test_a_fill_that_read_postgres_before_a_change_is_not_stored() -> None:
    ann, bob = make_user("ann"), make_user("bob")
    # A page missed the key and saw generation "0"; meanwhile a change committed and dropped it.
    seen = badges.Prefetch(user_id=ann.pk, raw="", generation="0")
    badges.forget(user_ids=[ann.pk])
    services.notify(kind="follow", actor_id=bob.pk, recipient_id=ann.pk)
    cache_redis().delete(badges.key(ann.pk))  # as if the push after the commit had not refilled it
    assert badges.counts(ann.pk, seen).notifications == 1  # the page shows what it counted
    assert _cached(ann) is None  # but what it counted is not kept: its generation is old
    assert badges.counts(ann.pk).notifications == 1
    assert _cached(ann) == "1,0"


@pytest.mark.django_db
def test_a_damaged_value_is_counted_again(django_assert_num_queries: Any) -> None:
    ann = make_user("ann")
    cache_redis().set(badges.key(ann.pk), "not,counts,at all")
    with django_assert_num_queries(1):  # the counts, the excluded accounts left out in the same statement
        assert badges.counts(ann.pk).total == 0
    assert _cached(ann) == "0,0"
