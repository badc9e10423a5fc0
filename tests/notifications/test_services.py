"""Notifications: written after the action's commit through the outbox, grouped, never for one's own
actions, marked read only by their recipient, badges cheap and capped."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from follows.models import Block, Mute
from follows.services import follow_create
from messaging.services import message_send
from notifications import selectors, services
from notifications.models import Notification, NotificationEvent
from tests.factories import make_user
from tweethub.models import OutboxTask
from tweets import services as tweet_services
from tweets.models import Tweet


def _groups(user: Any) -> list[tuple[str, int, list[int], bool]]:
    return [
        (n.kind, n.event_count, list(n.actor_ids), n.unread)
        for n in Notification.objects.filter(recipient=user).order_by("-seq")
    ]


@pytest.mark.django_db
def test_likes_of_one_tweet_group_newest_actor_first_and_a_repeat_changes_nothing() -> None:
    ann = make_user("ann")
    fans = [make_user(f"fan{n}") for n in range(5)]
    tweet = Tweet.objects.create(author=ann, text="hi")
    for fan in fans:
        assert services.notify(kind="like", actor_id=fan.pk, recipient_id=ann.pk, object_id=tweet.pk)
    assert not services.notify(kind="like", actor_id=fans[0].pk, recipient_id=ann.pk, object_id=tweet.pk)
    assert _groups(ann) == [("like", 5, [fans[4].pk, fans[3].pk, fans[2].pk], True)]
    assert NotificationEvent.objects.count() == 5


@pytest.mark.django_db
def test_once_read_the_next_like_opens_a_new_group_and_follows_group_together() -> None:
    ann, bob, cid, dan = make_user("ann"), make_user("bob"), make_user("cid"), make_user("dan")
    tweet = Tweet.objects.create(author=ann, text="hi")
    services.notify(kind="like", actor_id=bob.pk, recipient_id=ann.pk, object_id=tweet.pk)
    services.notifications_mark_all_read(user=ann)
    services.notify(kind="like", actor_id=cid.pk, recipient_id=ann.pk, object_id=tweet.pk)
    services.notify(kind="follow", actor_id=bob.pk, recipient_id=ann.pk)
    services.notify(kind="follow", actor_id=dan.pk, recipient_id=ann.pk)
    assert _groups(ann) == [
        ("follow", 2, [dan.pk, bob.pk], True),
        ("like", 1, [cid.pk], True),
        ("like", 1, [bob.pk], False),
    ]


@pytest.mark.django_db
def test_never_for_ones_own_actions_nor_from_or_to_inactive_accounts() -> None:
    ann, gone = make_user("ann"), make_user("gone", is_active=False)
    tweet = Tweet.objects.create(author=ann, text="hi")
    assert not services.notify(kind="like", actor_id=ann.pk, recipient_id=ann.pk, object_id=tweet.pk)
    assert not services.notify(kind="follow", actor_id=gone.pk, recipient_id=ann.pk)
    assert not services.notify(kind="follow", actor_id=ann.pk, recipient_id=gone.pk)
    with pytest.raises(ValueError, match="unknown"):
        services.notify(kind="poke", actor_id=gone.pk, recipient_id=ann.pk)
    assert not Notification.objects.exists()


@pytest.mark.django_db
def test_the_excluded_actors_are_the_blocks_either_way_and_the_recipients_mutes() -> None:
    """The one filter `notify`, the page and the badge count share (follows.blocks)."""
    ann, bob, cid, dan, eve = (make_user(name) for name in ("ann", "bob", "cid", "dan", "eve"))
    Block.objects.create(blocker=ann, blocked=bob)
    Block.objects.create(blocker=cid, blocked=ann)
    Mute.objects.create(muter=ann, muted=dan)
    Mute.objects.create(muter=eve, muted=ann)  # Eve's mute is Eve's: Ann still hears from her
    assert selectors.excluded_actor_ids(ann.pk) == frozenset({bob.pk, cid.pk, dan.pk})
    for actor in (bob, cid, dan):
        assert not services.notify(kind="follow", actor_id=actor.pk, recipient_id=ann.pk)
    assert services.notify(kind="follow", actor_id=eve.pk, recipient_id=ann.pk)


@pytest.mark.django_db
def test_actions_queue_their_notification_in_their_own_transaction() -> None:
    ann, bob = make_user("ann"), make_user("bob")
    follow_create(follower=bob, followee=ann)
    message_send(sender=bob, recipient=ann, text="hello")
    tweet_services.tweet_create(author=bob, text="hey @ann and @nobody")
    tasks = sorted(
        (row.task.rsplit(".", 1)[1], row.args[0])
        for row in OutboxTask.objects.filter(task__startswith="notifications.")
    )
    assert tasks == [("notify_mentions_task", tasks[0][1]), ("notify_task", "follow"), ("notify_task", "message")]


@pytest.mark.django_db(transaction=True)
def test_actions_notify_after_commit(eager_tasks: None) -> None:
    ann, bob = make_user("ann"), make_user("bob")
    follow_create(follower=bob, followee=ann)
    tweet = tweet_services.tweet_create(author=bob, text="hey @ANN and @nobody and @bob")
    mine = tweet_services.tweet_create(author=ann, text="mine")
    tweet_services.like_create(user=bob, tweet_id=mine.pk)
    message_send(sender=bob, recipient=ann, text="hello")
    kinds = {(n.kind, n.object_id) for n in Notification.objects.filter(recipient=ann)}
    assert kinds == {("follow", 0), ("mention", tweet.pk), ("like", mine.pk), ("message", kinds_message_id(ann))}
    assert not Notification.objects.filter(recipient=bob).exists()  # never for one's own mention
    counts = selectors.badge_counts(ann.pk)
    assert (counts.notifications, counts.messages) == (3, 1)


def kinds_message_id(user: Any) -> int:
    return Notification.objects.get(recipient=user, kind="message").object_id


@pytest.mark.django_db
def test_badges_are_one_query_and_capped(django_assert_num_queries: Any) -> None:
    ann = make_user("ann")
    fans = [make_user(f"fan{n}") for n in range(selectors.BADGE_CAP + 3)]
    for fan in fans:
        services.notify(kind="mention", actor_id=fan.pk, recipient_id=ann.pk, object_id=fan.pk)
    with django_assert_num_queries(1):
        counts = selectors.badge_counts(ann.pk)
    assert counts.notifications == selectors.BADGE_CAP + 1
    assert counts.notifications_label == "99+"
    assert counts.as_payload()["title_label"] == "99+"


@pytest.mark.django_db
def test_mark_all_read_touches_only_ones_own_and_only_what_the_page_showed() -> None:
    ann, bob, cid = make_user("ann"), make_user("bob"), make_user("cid")
    services.notify(kind="follow", actor_id=bob.pk, recipient_id=ann.pk)
    services.notify(kind="follow", actor_id=ann.pk, recipient_id=bob.pk)
    shown = selectors.newest_seq(ann.pk)
    services.notify(kind="mention", actor_id=cid.pk, recipient_id=ann.pk, object_id=1)
    assert services.notifications_mark_all_read(user=ann, up_to=shown) == 1
    assert selectors.badge_counts(ann.pk).notifications == 1  # the mention that came after
    assert selectors.badge_counts(bob.pk).notifications == 1  # bob's are bob's


@pytest.mark.django_db
def test_the_page_is_a_constant_number_of_queries(
    client: Client, django_assert_num_queries: Any, redis_round_trips: Any
) -> None:
    ann = make_user("ann")
    client.force_login(ann)

    def fill(n: int) -> None:
        for i in range(n):
            fan = make_user()
            tweet = Tweet.objects.create(author=ann, text=f"tweet {i}")
            services.notify(kind="like", actor_id=fan.pk, recipient_id=ann.pk, object_id=tweet.pk)
            services.notify(kind="follow", actor_id=fan.pk, recipient_id=ann.pk)

    fill(2)
    client.get("/notifications/")  # warm: cards cached, session and user cached
    redis_round_trips.clear()
    # Groups, actors, newest seq; the badges came with the session (tweethub.badges).
    with django_assert_num_queries(3):
        client.get("/notifications/")
    small = redis_round_trips.count
    fill(15)
    client.get("/notifications/")
    redis_round_trips.clear()
    with django_assert_num_queries(3):  # the same with 17 groups of each kind
        response = client.get("/notifications/")
    assert redis_round_trips.count == small <= 3, redis_round_trips.sent
    html = response.content.decode()
    assert "and 16 others followed you" in html
    assert html.count("liked your tweet") == 17
