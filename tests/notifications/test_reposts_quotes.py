"""Repost and quote notifications (issue 21 items 3 and 5): reposts of one tweet group per tweet as
Twitter groups them ("Ana and 1 other reposted your tweet"), a quote is its own notification, and
neither comes from oneself or across a block or mute."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from follows.services import block_create, mute_create
from notifications import selectors
from notifications.models import Notification
from tests.factories import PASSWORD, make_user
from tweets import services as tweet_services
from tweets.models import Tweet
from tweets.reposts import repost_create

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("eager_tasks")]


def _kinds(user: Any) -> list[tuple[str, int, list[int]]]:
    return [
        (n.kind, n.object_id, list(n.actor_ids)) for n in Notification.objects.filter(recipient=user).order_by("seq")
    ]


def test_reposts_of_one_tweet_group_and_a_quote_stands_alone() -> None:
    ann, bob, cid = make_user("ann"), make_user("bob"), make_user("cid")
    mine = tweet_services.tweet_create(author=ann, text="ann's tweet")
    repost_create(user=bob, tweet_id=mine.pk)
    repost_create(user=cid, tweet_id=mine.pk)
    repost_create(user=cid, tweet_id=mine.pk)  # a double click: one repost, one event
    quote = tweet_services.tweet_create(author=bob, text="look at this", quote_of=mine.pk)

    assert _kinds(ann) == [("repost", mine.pk, [cid.pk, bob.pk]), ("quote", quote.pk, [bob.pk])]
    page = selectors.notifications_page(user_id=ann.pk, before=None, limit=20)
    assert [row.tweet.id for row in page.items if row.tweet is not None] == [quote.pk, mine.pk]
    client = Client()
    client.login(username="ann", password=PASSWORD)
    html = client.get("/notifications/").content.decode()
    assert "and 1 other reposted your tweet" in html
    assert "quoted your tweet" in html


def test_no_repost_or_quote_notification_from_oneself_a_block_or_a_mute() -> None:
    ann, bob, cid = make_user("ann"), make_user("bob"), make_user("cid")
    mine = tweet_services.tweet_create(author=ann, text="ann's tweet")
    repost_create(user=ann, tweet_id=mine.pk)
    tweet_services.tweet_create(author=ann, text="quoting myself", quote_of=mine.pk)
    mute_create(muter=ann, muted=cid)
    repost_create(user=cid, tweet_id=mine.pk)  # a mute refuses nothing: it only hides
    tweet_services.tweet_create(author=cid, text="quoting", quote_of=mine.pk)
    block_create(blocker=ann, blocked=bob)
    with pytest.raises(Tweet.DoesNotExist):
        repost_create(user=bob, tweet_id=mine.pk)
    assert _kinds(ann) == []
    assert selectors.badge_counts(ann.pk).notifications == 0
