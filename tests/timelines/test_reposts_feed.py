"""Reposts in home feeds, one mechanism per test (the property test checks random histories against
tests/oracles.py; these name what broke): fan-out with "reposted by", the de-duplication rule,
undo, a deleted original, mutes and blocks, and a constant cost per page. Tasks run eagerly."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import User
from follows.services import block_create, follow_create, follow_delete, mute_create, mute_delete
from moderation.services import account_suspend, account_unsuspend
from tests.conftest import RedisRoundTrips
from tests.factories import make_user
from tests.oracles import home_timeline_oracle
from timelines import services, store
from timelines.selectors import home_timeline
from tweets.models import Tweet
from tweets.reposts import repost_create, repost_delete
from tweets.services import tweet_create, tweet_delete

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("eager_tasks")]


def _user(name: str) -> User:
    return make_user(name, last_active=timezone.now())


def _feed(user: User) -> list[int]:
    page = store.page(user_id=user.pk, before=None, limit=1000)
    assert page is not None, "no feed"
    return page.ids


def _home(user: User) -> list[tuple[int, int, str | None]]:
    """(entry id, tweet shown, who reposted it) for the first 50 entries, as the page shows them."""
    items = home_timeline(user_id=user.pk, before=None, limit=50).items
    return [(t.entry, t.id, t.reposted_by.username if t.reposted_by else None) for t in items]


def _agrees(*users: User) -> None:
    for user in users:
        assert [entry for entry, _, _ in _home(user)] == home_timeline_oracle(user.pk)


@pytest.fixture
def cast() -> tuple[User, User, User, User]:
    """ann posts; rea reposts; fan follows rea only, both follows rea and ann. Everyone has a feed."""
    ann, rea, fan, both = _user("ann"), _user("rea"), _user("fan"), _user("both")
    follow_create(follower=fan, followee=rea)
    follow_create(follower=both, followee=rea)
    follow_create(follower=both, followee=ann)
    for user in (ann, rea, fan, both):
        services.feed_rebuild(user_id=user.pk)
    return ann, rea, fan, both


def test_a_repost_reaches_the_reposters_followers_as_the_original_reposted_by(
    cast: tuple[User, User, User, User],
) -> None:
    ann, rea, fan, _ = cast
    original = tweet_create(author=ann, text="worth sharing")
    repost = repost_create(user=rea, tweet_id=original.pk)
    assert repost.pk > original.pk  # the same time-ordered ids: a feed member like any tweet
    assert repost.pk in _feed(fan)
    assert _home(fan) == [(repost.pk, original.pk, "rea")]
    assert Tweet.objects.get(pk=original.pk).repost_count == 1
    assert repost_create(user=rea, tweet_id=original.pk).pk == repost.pk  # a double click: one repost
    assert repost_create(user=rea, tweet_id=repost.pk).pk == repost.pk  # a repost stands for its original
    assert Tweet.objects.get(pk=original.pk).repost_count == 1
    _agrees(*cast)


def test_the_original_already_in_a_feed_holds_the_repost_back(cast: tuple[User, User, User, User]) -> None:
    """Mastodon's rule: both follows ann, so ann's tweet is already there; rea's repost is not shown
    again. Nor is ann's own tweet shown to ann a second time when a followee reposts it."""
    ann, rea, fan, both = cast
    follow_create(follower=ann, followee=rea)
    original = tweet_create(author=ann, text="seen already")
    repost = repost_create(user=rea, tweet_id=original.pk)
    assert repost.pk in _feed(fan)
    assert repost.pk not in _feed(both)
    assert repost.pk not in _feed(ann)
    assert [shown for _, shown, _ in _home(both)] == [original.pk]
    _agrees(*cast)


def test_a_second_repost_is_held_back_and_comes_in_when_the_first_is_undone() -> None:
    ann, rea, sam, fan = _user("ann"), _user("rea"), _user("sam"), _user("fan")
    follow_create(follower=fan, followee=rea)
    follow_create(follower=fan, followee=sam)
    services.feed_rebuild(user_id=fan.pk)
    original = tweet_create(author=ann, text="popular")
    first = repost_create(user=rea, tweet_id=original.pk)
    second = repost_create(user=sam, tweet_id=original.pk)
    assert _home(fan) == [(first.pk, original.pk, "rea")]  # once, however many followees repost it
    assert repost_delete(user=rea, tweet_id=original.pk)
    assert first.pk not in _feed(fan)  # undo removes it from the feeds it reached
    assert _home(fan) == [(second.pk, original.pk, "sam")]  # and the one it held back comes in
    assert not repost_delete(user=rea, tweet_id=original.pk)  # idempotent
    assert Tweet.objects.get(pk=original.pk).repost_count == 1
    _agrees(ann, rea, sam, fan)


def test_following_and_unfollowing_reconcile_held_back_reposts() -> None:
    ann, rea, sam, fan = _user("ann"), _user("rea"), _user("sam"), _user("fan")
    follow_create(follower=fan, followee=sam)
    services.feed_rebuild(user_id=fan.pk)
    original = tweet_create(author=ann, text="popular")
    first = repost_create(user=rea, tweet_id=original.pk)
    second = repost_create(user=sam, tweet_id=original.pk)
    assert second.pk in _feed(fan)
    follow_create(follower=fan, followee=rea)  # rea's earlier repost now holds sam's back
    assert second.pk not in _feed(fan)
    assert first.pk in _feed(fan)
    follow_delete(follower=fan, followee=rea)  # and unfollowing lets it back
    assert _feed(fan) == [second.pk]
    follow_create(follower=fan, followee=ann)  # the original itself holds both back
    assert _feed(fan) == [original.pk]
    _agrees(ann, rea, sam, fan)


def test_deleting_the_original_takes_its_reposts_everywhere(cast: tuple[User, User, User, User]) -> None:
    ann, rea, fan, _ = cast
    original = tweet_create(author=ann, text="soon gone")
    repost = repost_create(user=rea, tweet_id=original.pk)
    tweet_delete(tweet_id=original.pk, user=ann)
    assert not Tweet.objects.filter(pk=repost.pk).exists()
    assert repost.pk not in _feed(fan)
    assert repost.pk not in _feed(rea)
    assert _home(fan) == []
    _agrees(*cast)


def test_mutes_and_blocks_hide_reposts(cast: tuple[User, User, User, User]) -> None:
    ann, rea, fan, both = cast
    original = tweet_create(author=ann, text="hello")
    repost_create(user=rea, tweet_id=original.pk)
    other = _user("other")
    follow_create(follower=other, followee=rea)
    services.feed_rebuild(user_id=other.pk)
    mute_create(muter=fan, muted=ann)  # a repost OF someone muted
    assert _home(fan) == []
    block_create(blocker=ann, blocked=other)  # a repost of someone who blocked the reader
    assert _home(other) == []
    both_mutes_rea = both
    mute_create(muter=both_mutes_rea, muted=rea)  # a repost BY someone muted (both has ann's tweet anyway)
    assert [shown for _, shown, _ in _home(both)] == [original.pk]
    _agrees(ann, rea, fan, both, other)
    # A new repost respects them at fan-out too.
    newer = tweet_create(author=ann, text="again")
    repost_create(user=rea, tweet_id=newer.pk)
    assert _home(fan) == []
    assert _home(other) == []
    _agrees(ann, rea, fan, both, other)


def test_reposting_across_a_block_is_refused_and_changes_nothing(cast: tuple[User, User, User, User]) -> None:
    ann, rea, _, _ = cast
    original = tweet_create(author=ann, text="hello")
    block_create(blocker=ann, blocked=rea)
    with pytest.raises(Tweet.DoesNotExist):
        repost_create(user=rea, tweet_id=original.pk)
    with pytest.raises(Tweet.DoesNotExist):
        tweet_create(author=rea, text="quoting", quote_of=original.pk)
    assert Tweet.objects.filter(author=rea).count() == 0
    assert Tweet.objects.get(pk=original.pk).repost_count == 0


def _mixed_home(reader: User, friends: list[User], count: int) -> None:
    """`count` entries for reader: tweets, reposts, replies and quotes, by many authors."""
    Tweet.objects.all().delete()
    strangers = friends[5:]
    for n in range(count):
        friend = friends[n % 5]
        kind = n % 4
        if kind == 0:
            tweet_create(author=friend, text=f"#t{n} plain @reader")
        elif kind == 1:
            stranger_tweet = tweet_create(author=strangers[n % len(strangers)], text=f"from afar {n}")
            repost_create(user=friend, tweet_id=stranger_tweet.pk)
        elif kind == 2:
            parent = tweet_create(author=friends[(n + 1) % 5], text=f"question {n}")
            tweet_create(author=friend, text=f"answer {n}", in_reply_to=parent.pk)
        else:
            quoted = tweet_create(author=strangers[n % len(strangers)], text=f"quoted {n}")
            tweet_create(author=friend, text=f"look {n}", quote_of=quoted.pk)


def test_a_mixed_home_page_costs_the_same_for_10_or_50_entries(
    client: Client, settings: Any, redis_round_trips: RedisRoundTrips
) -> None:
    """Tweets, reposts, replies and quotes: a constant number of SQL queries and Redis round trips
    per page, whatever the number of cards (one more card read for the originals and quoted ones)."""
    settings.TIMELINE_PAGE_SIZE = 50
    reader = _user("reader")
    friends = [_user(f"friend{n}") for n in range(8)]
    for friend in friends[:5]:
        follow_create(follower=reader, followee=friend)
    client.force_login(reader)
    costs: dict[int, tuple[int, int]] = {}
    for count in (10, 50):
        _mixed_home(reader, friends, count)
        services.feed_rebuild(user_id=reader.pk)
        client.get("/")  # warm: cards, HTML, session
        redis_round_trips.clear()
        with CaptureQueriesContext(connection) as queries:
            response = client.get("/")
        html = response.content.decode()
        entries = home_timeline_oracle(reader.pk)
        assert len(entries) >= count
        assert len(response.context["page"].items) == min(len(entries), 50)
        assert html.count('class="tweet-reposted"') >= 2
        assert html.count('class="tweet-quote"') >= 2
        costs[count] = (len(queries), redis_round_trips.count)
    assert costs[10] == costs[50], costs
    assert costs[50][0] <= 2, costs  # warm: no SQL for the cards


def test_suspensions_move_reposts_both_ways() -> None:
    """Suspending the original's author takes every repost of it away; suspending a reposter lets
    the repost it held back come in; lifting either puts things back."""
    ann, rea, sam, fan = _user("ann"), _user("rea"), _user("sam"), _user("fan")
    staff = make_user("staff", is_staff=True)
    follow_create(follower=fan, followee=rea)
    follow_create(follower=fan, followee=sam)
    services.feed_rebuild(user_id=fan.pk)
    original = tweet_create(author=ann, text="popular")
    first = repost_create(user=rea, tweet_id=original.pk)
    second = repost_create(user=sam, tweet_id=original.pk)
    account_suspend(moderator=staff, user_id=ann.pk)
    assert _feed(fan) == []
    _agrees(fan)
    account_unsuspend(moderator=staff, user_id=ann.pk)
    assert _feed(fan) == [first.pk]
    account_suspend(moderator=staff, user_id=rea.pk)
    assert _feed(fan) == [second.pk]
    _agrees(fan)
    account_unsuspend(moderator=staff, user_id=rea.pk)
    assert _feed(fan) == [first.pk]
    _agrees(fan)


def test_a_repost_committed_after_a_later_one_holds_it_back_where_it_is_an_entry() -> None:
    """Ids are taken at insert and commits land in any order: a repost with the smaller id may be
    fanned out after a later one. Its fan-out removes the later one where it now holds it back."""
    ann, rea, sam, fan, sams_fan = _user("ann"), _user("rea"), _user("sam"), _user("fan"), _user("samsfan")
    follow_create(follower=fan, followee=rea)
    follow_create(follower=fan, followee=sam)
    follow_create(follower=sams_fan, followee=sam)
    for user in (fan, sams_fan, rea):
        services.feed_rebuild(user_id=user.pk)
    original = tweet_create(author=ann, text="popular")
    later = repost_create(user=sam, tweet_id=original.pk)
    assert later.pk in _feed(fan)
    # rea's repost, inserted (id taken) before sam's but committed and fanned out only now.
    earlier = Tweet.objects.create(id=later.pk - 1, author=rea, text="", repost_of=original.pk, repost_of_author=ann)
    services.fanout_tweet(tweet_id=earlier.pk)
    assert _feed(fan) == [earlier.pk]
    assert _feed(sams_fan) == [later.pk]  # not an entry of rea's there: sam's stays
    _agrees(ann, rea, sam, fan, sams_fan)


def test_unmuting_someone_not_followed_brings_back_reposts_of_their_tweets() -> None:
    ann, rea, fan = _user("ann"), _user("rea"), _user("fan")
    follow_create(follower=fan, followee=rea)
    services.feed_rebuild(user_id=fan.pk)
    original = tweet_create(author=ann, text="hello")
    mute_create(muter=fan, muted=ann)
    repost = repost_create(user=rea, tweet_id=original.pk)
    own = repost_create(user=fan, tweet_id=original.pk)
    assert _home(fan) == []
    mute_delete(muter=fan, muted=ann)
    assert [entry for entry, _, _ in _home(fan)] == [repost.pk]  # fan's own is held back by rea's
    assert own.pk > repost.pk
    _agrees(ann, rea, fan)
