"""The reply rule, mutes and blocks in home feeds, one mechanism per test (the property test checks
random histories against tests/oracles.py; these name what broke). Tasks run eagerly."""

from __future__ import annotations

import typing
from typing import Any

import pytest
from django.utils import timezone

from accounts.models import FanoutMode, User, UserStats
from follows.services import block_create, follow_create, follow_delete, mute_create, mute_delete
from moderation.services import account_suspend, account_unsuspend
from tests.factories import make_user
from tests.oracles import home_timeline_oracle
from timelines import services, store
from timelines.selectors import home_timeline
from tweethub.celery import app
from tweethub.redis import feeds
from tweets.services import tweet_create

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("eager_tasks")]


def _user(name: str, **fields: Any) -> User:
    return make_user(name, last_active=timezone.now(), **fields)


def _feed(user: User) -> list[int]:
    page = store.page(user_id=user.pk, before=None, limit=1000)
    assert page is not None, "no feed"
    return page.ids


def _home(user: User) -> list[int]:
    return [t.id for t in home_timeline(user_id=user.pk, before=None, limit=50).items]


@pytest.fixture
def cast() -> tuple[User, User, User, User]:
    """ann and xena post; both_fan follows both, ann_fan only ann. Everyone has a feed."""
    ann, xena, both_fan, ann_fan = _user("ann"), _user("xena"), _user("bothfan"), _user("annfan")
    follow_create(follower=both_fan, followee=ann)
    follow_create(follower=both_fan, followee=xena)
    follow_create(follower=ann_fan, followee=ann)
    for user in (ann, xena, both_fan, ann_fan):
        services.feed_rebuild(user_id=user.pk)
    return ann, xena, both_fan, ann_fan


def test_a_reply_reaches_only_followers_of_both(cast: tuple[User, User, User, User]) -> None:
    ann, xena, both_fan, ann_fan = cast
    root = tweet_create(author=xena, text="a question")
    reply = tweet_create(author=ann, text="an answer", in_reply_to=root.pk)

    assert reply.id in _feed(both_fan)
    assert reply.id not in _feed(ann_fan)  # fan-out left it out: ann_fan does not follow xena
    follow_create(follower=xena, followee=ann)  # the person answered sees replies to her (Mastodon's rule)
    assert reply.id in _feed(xena)
    for user in (both_fan, ann_fan, ann, xena):
        assert _home(user) == home_timeline_oracle(user.pk)


def test_a_self_thread_reaches_every_follower(cast: tuple[User, User, User, User]) -> None:
    ann, _, both_fan, ann_fan = cast
    first = tweet_create(author=ann, text="1/ a thread")
    second = tweet_create(author=ann, text="2/ goes on", in_reply_to=first.pk)
    assert second.id in _feed(ann_fan)
    assert second.id in _feed(both_fan)


def test_following_the_person_answered_brings_the_replies_in(cast: tuple[User, User, User, User]) -> None:
    ann, xena, _, ann_fan = cast
    root = tweet_create(author=xena, text="a question")
    reply = tweet_create(author=ann, text="an answer", in_reply_to=root.pk)
    assert reply.id not in _home(ann_fan)

    follow_create(follower=ann_fan, followee=xena)  # the backfill brings xena's tweets and replies to her
    assert reply.id in _feed(ann_fan)
    assert root.id in _feed(ann_fan)
    assert _home(ann_fan) == home_timeline_oracle(ann_fan.pk)

    follow_delete(follower=ann_fan, followee=xena)  # and the cleanup takes both out again
    assert reply.id not in _feed(ann_fan)
    assert root.id not in _feed(ann_fan)
    assert _home(ann_fan) == home_timeline_oracle(ann_fan.pk)


def test_a_celebrity_reply_is_pushed_to_the_overlap_not_merged(
    cast: tuple[User, User, User, User], settings: Any
) -> None:
    """A pull-mode account's broadcast tweets are merged from its author list; its replies to others
    are pushed to followers of both, since a reader's merge cannot check whom they follow."""
    ann, xena, both_fan, ann_fan = cast
    UserStats.objects.filter(user_id=ann.pk).update(fanout_mode=FanoutMode.PULL)
    services.author_list_rebuild(author_id=ann.pk)
    root = tweet_create(author=xena, text="a question")
    reply = tweet_create(author=ann, text="an answer", in_reply_to=root.pk)

    assert reply.id in _feed(both_fan)
    assert reply.id not in _feed(ann_fan)
    members = typing.cast(list[bytes], feeds().zrange(store.feed_key(ann.pk, store.Kind.AUTHOR), 0, -1))
    author_list = {int(member) for member in members[1:]}  # the floor member comes first
    assert root.id not in author_list
    assert reply.id not in author_list
    for user in (both_fan, ann_fan):
        assert _home(user) == home_timeline_oracle(user.pk)


def test_mute_hides_tweets_and_replies_to_them_and_unmute_brings_them_back(
    cast: tuple[User, User, User, User],
) -> None:
    ann, xena, both_fan, _ = cast
    by_xena = tweet_create(author=xena, text="xena speaks")
    root = tweet_create(author=ann, text="ann asks")
    to_xena = tweet_create(author=ann, text="ann answers xena", in_reply_to=by_xena.pk)

    mute_create(muter=both_fan, muted=xena)
    assert by_xena.id not in _feed(both_fan)
    assert to_xena.id not in _feed(both_fan)
    assert root.id in _home(both_fan)
    later = tweet_create(author=xena, text="while muted")
    assert later.id not in _feed(both_fan)  # the fan-out leaves muters out
    assert _home(both_fan) == home_timeline_oracle(both_fan.pk)

    mute_delete(muter=both_fan, muted=xena)
    assert {by_xena.id, to_xena.id, later.id} <= set(_feed(both_fan))
    assert _home(both_fan) == home_timeline_oracle(both_fan.pk)


def test_a_mute_hides_at_once_even_before_the_cleanup(cast: tuple[User, User, User, User], settings: Any) -> None:
    """The mute's commit leaves a tombstone: the page is served from SQL until the cleanup ran."""
    _, xena, both_fan, _ = cast
    by_xena = tweet_create(author=xena, text="xena speaks")
    app.conf.task_always_eager = False  # the cleanup waits in the outbox (the broker is not read here)
    try:
        mute_create(muter=both_fan, muted=xena)
    finally:
        app.conf.task_always_eager = True
    assert by_xena.id in _feed(both_fan)  # still there
    assert by_xena.id not in _home(both_fan)


def test_block_removes_follows_both_ways_and_each_from_the_others_feed(
    cast: tuple[User, User, User, User],
) -> None:
    ann, xena, both_fan, _ = cast
    follow_create(follower=xena, followee=both_fan)
    by_xena = tweet_create(author=xena, text="xena speaks")
    by_fan = tweet_create(author=both_fan, text="fan speaks")

    block_create(blocker=both_fan, blocked=xena)
    assert by_xena.id not in _feed(both_fan)
    assert by_fan.id not in _feed(xena)
    assert _home(both_fan) == home_timeline_oracle(both_fan.pk)
    assert _home(xena) == home_timeline_oracle(xena.pk)
    with pytest.raises(Exception, match="cannot follow this account"):
        follow_create(follower=xena, followee=both_fan)
    with pytest.raises(Exception, match="cannot follow this account"):
        follow_create(follower=both_fan, followee=xena)
    assert ann.pk  # untouched


def test_bulk_build_keeps_the_reply_rule(cast: tuple[User, User, User, User]) -> None:
    ann, xena, both_fan, ann_fan = cast
    root = tweet_create(author=xena, text="a question")
    tweet_create(author=ann, text="an answer", in_reply_to=root.pk)
    mute_create(muter=both_fan, muted=ann)
    services.feeds_bulk_build(user_ids=[both_fan.pk, ann_fan.pk])
    for user in (both_fan, ann_fan):
        assert _feed(user) == home_timeline_oracle(user.pk)


@pytest.mark.parametrize("mode", [FanoutMode.PUSH, FanoutMode.PULL])
def test_lifting_a_suspension_brings_back_replies_to_others(
    cast: tuple[User, User, User, User], mode: FanoutMode
) -> None:
    """A suspension takes every recent tweet of the account out of its followers' feeds, replies to
    others included. Readers merge a pull-mode account's broadcast tweets from its author list and
    the demotion backfill puts a push-mode account's back, but neither carries replies to others
    (their audience is the overlap of two follower sets): the lift must push those again. Found on
    the 3-node cluster by the property test (a celebrity's reply to the reader stayed missing)."""
    ann, xena, both_fan, ann_fan = cast
    follow_create(follower=xena, followee=ann)
    root = tweet_create(author=xena, text="a question")
    UserStats.objects.filter(user_id=ann.pk).update(fanout_mode=mode)
    if mode == FanoutMode.PULL:
        services.author_list_rebuild(author_id=ann.pk)
    reply = tweet_create(author=ann, text="an answer", in_reply_to=root.pk)
    assert reply.id in _feed(both_fan)
    assert reply.id in _feed(xena)
    staff = make_user("staff", is_staff=True)

    account_suspend(moderator=staff, user_id=ann.pk)
    assert reply.id not in _feed(both_fan)
    account_unsuspend(moderator=staff, user_id=ann.pk)

    for user in (both_fan, xena):
        assert reply.id in _feed(user)
    for user in (both_fan, ann_fan, xena):
        assert _home(user) == home_timeline_oracle(user.pk)
    assert reply.id not in _feed(ann_fan)  # still the reply rule: ann_fan does not follow xena


def test_the_demotion_backfill_skips_followers_who_muted_the_account(cast: tuple[User, User, User, User]) -> None:
    """A pull-mode account returning to fan-out backfills its recent tweets into its followers'
    feeds: not into the feed of a follower who muted it (found by the property test)."""
    ann, _, both_fan, ann_fan = cast
    UserStats.objects.filter(user_id=ann.pk).update(fanout_mode=FanoutMode.PULL)
    services.author_list_rebuild(author_id=ann.pk)
    said = tweet_create(author=ann, text="while famous")
    mute_create(muter=both_fan, muted=ann)
    UserStats.objects.filter(user_id=ann.pk).update(fanout_mode=FanoutMode.DEMOTING)

    services.celebrity_demote(user_id=ann.pk)

    assert said.id in _feed(ann_fan)
    assert said.id not in _feed(both_fan)
    assert _home(both_fan) == home_timeline_oracle(both_fan.pk)
