"""Notifications and blocks, mutes and replies (issue 21 items 5 and 6): nothing from a blocked
account either way, nothing from an account the recipient muted (and only for the muter), never
for one's own actions; a reply tells the author it answers, once."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from follows.services import block_create, block_delete, follow_create, mute_create, mute_delete
from notifications import selectors, services
from notifications.models import Notification
from tests.factories import make_user
from tweets import services as tweet_services
from tweets.models import Like, Tweet


def _kinds(user: Any) -> list[tuple[str, int, list[int]]]:
    return [
        (n.kind, n.object_id, list(n.actor_ids)) for n in Notification.objects.filter(recipient=user).order_by("seq")
    ]


@pytest.mark.django_db(transaction=True)
def test_a_muted_account_never_notifies_the_muter_but_the_muter_still_notifies_them(eager_tasks: None) -> None:
    ann, dan = make_user("ann"), make_user("dan")
    mute_create(muter=ann, muted=dan)
    mine = tweet_services.tweet_create(author=ann, text="ann's tweet")
    follow_create(follower=dan, followee=ann)
    tweet_services.like_create(user=dan, tweet_id=mine.pk)  # a mute refuses nothing: it only hides
    tweet_services.tweet_create(author=dan, text="hey @ann")
    tweet_services.tweet_create(author=dan, text="an answer", in_reply_to=mine.pk)
    assert _kinds(ann) == []
    follow_create(follower=ann, followee=dan)  # Dan did not mute Ann: he is told
    assert _kinds(dan) == [("follow", 0, [ann.pk])]


@pytest.mark.django_db(transaction=True)
def test_a_block_either_way_stops_every_notification_between_the_two(eager_tasks: None) -> None:
    ann, bob, cid = make_user("ann"), make_user("bob"), make_user("cid")
    block_create(blocker=ann, blocked=bob)  # Ann blocked Bob
    block_create(blocker=cid, blocked=ann)  # Cid blocked Ann
    anns = tweet_services.tweet_create(author=ann, text="ann's tweet")
    cids = tweet_services.tweet_create(author=cid, text="cid's tweet")
    tweet_services.tweet_create(author=bob, text="hey @ann")
    tweet_services.tweet_create(author=ann, text="hey @cid and @bob")
    # A task queued before a block, run after it: `notify` checks again.
    for actor, recipient in ((bob, ann), (ann, bob), (cid, ann), (ann, cid)):
        assert not services.notify(kind="follow", actor_id=actor.pk, recipient_id=recipient.pk)
        assert not services.notify(kind="like", actor_id=actor.pk, recipient_id=recipient.pk, object_id=anns.pk)
    assert (_kinds(ann), _kinds(bob), _kinds(cid)) == ([], [], [])
    # Likes across a block are refused (a 404 for the liker) and change nothing.
    for liker, tweet in ((bob, anns), (ann, cids)):
        with pytest.raises(Tweet.DoesNotExist):
            tweet_services.like_create(user=liker, tweet_id=tweet.pk)
    assert not Like.objects.exists()
    assert Tweet.objects.get(pk=anns.pk).like_count == Tweet.objects.get(pk=cids.pk).like_count == 0
    assert (_kinds(ann), _kinds(cid)) == ([], [])


@pytest.mark.django_db(transaction=True)
def test_a_reply_tells_the_author_it_answers_once_never_oneself(eager_tasks: None) -> None:
    ann, bob, cid = make_user("ann"), make_user("bob"), make_user("cid")
    tweet = tweet_services.tweet_create(author=ann, text="a question")
    reply = tweet_services.tweet_create(author=bob, text="@ann yes, ask @cid", in_reply_to=tweet.pk)
    own = tweet_services.tweet_create(author=ann, text="and a thread of my own", in_reply_to=tweet.pk)
    tweet_services.tweet_create(author=ann, text="thanks", in_reply_to=reply.pk)
    # Ann: the reply, not a mention as well; Cid: named in it; Ann's own reply tells nobody but Bob.
    assert _kinds(ann) == [("reply", reply.pk, [bob.pk])]
    assert _kinds(cid) == [("mention", reply.pk, [bob.pk])]
    assert [(kind, actors) for kind, _, actors in _kinds(bob)] == [("reply", [ann.pk])]
    assert not Notification.objects.filter(object_id=own.pk).exists()


@pytest.mark.django_db(transaction=True)
def test_the_reply_notification_reads_as_one_on_the_page(eager_tasks: None) -> None:
    ann, bob = make_user("ann"), make_user("bob", name="Bob Answers")
    tweet = tweet_services.tweet_create(author=ann, text="a question")
    tweet_services.tweet_create(author=bob, text="the answer is 42", in_reply_to=tweet.pk)
    client = Client()
    client.force_login(ann)
    html = client.get("/notifications/").content.decode()
    assert "Bob Answers" in html
    assert "replied to your tweet" in html
    assert "the answer is 42" in html


@pytest.mark.django_db(transaction=True)
def test_a_later_block_or_mute_hides_earlier_notifications_and_their_badge(eager_tasks: None) -> None:
    ann, bob, cid = make_user("ann"), make_user("bob", name="Bob Follows"), make_user("cid")
    follow_create(follower=bob, followee=ann)
    client = Client()
    client.force_login(ann)
    assert "Bob Follows" in client.get("/notifications/").content.decode()
    assert selectors.badge_counts(ann.pk).notifications == 1  # now cached

    mute_create(muter=ann, muted=bob)
    assert "Bob Follows" not in client.get("/notifications/").content.decode()
    assert selectors.badge_counts(ann.pk).notifications == 0
    mute_delete(muter=ann, muted=bob)
    assert selectors.badge_counts(ann.pk).notifications == 1

    block_create(blocker=bob, blocked=ann)  # blocked BY the actor: hidden as well
    assert "Bob Follows" not in client.get("/notifications/").content.decode()
    assert selectors.badge_counts(ann.pk).notifications == 0
    block_delete(blocker=bob, blocked=ann)
    assert selectors.badge_counts(ann.pk).notifications == 1
    # Cid mutes Bob: Ann's notifications are Ann's, whatever others muted.
    mute_create(muter=cid, muted=bob)
    assert selectors.badge_counts(ann.pk).notifications == 1


@pytest.mark.django_db(transaction=True)
def test_liking_across_a_block_by_the_form_is_a_404_and_changes_nothing(eager_tasks: None) -> None:
    ann, bob = make_user("ann"), make_user("bob")
    tweet = tweet_services.tweet_create(author=ann, text="not for bob")
    block_create(blocker=ann, blocked=bob)
    client = Client(enforce_csrf_checks=False)
    client.force_login(bob)
    response = client.post(f"/tweets/{tweet.pk}/like/")
    assert response.status_code == 404
    assert not Like.objects.exists()
    assert Tweet.objects.get(pk=tweet.pk).like_count == 0
    assert not Notification.objects.exists()
