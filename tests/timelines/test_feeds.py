"""Fan-out, backfill, celebrities, rebuilds and the read path, one mechanism per test.

The property test (test_timeline_property.py) checks random histories against SQL; these spell
out each mechanism so a failure names what broke. Tasks run eagerly (on commit) unless a test is
about the real worker.
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest
from django.test.utils import override_settings
from django.utils import timezone

from accounts.models import FanoutMode, User, UserStats
from follows.services import follow_create, follow_delete
from tests.factories import make_user
from timelines import services, store
from timelines.selectors import home_timeline
from tweets.models import Tweet
from tweets.services import tweet_create, tweet_delete

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("eager_tasks")]


def _user(name: str, **fields: Any) -> User:
    return make_user(name, last_active=timezone.now(), **fields)


def _feed(user: User) -> list[int] | None:
    """The feed's ids, or None when the user has no feed."""
    page = store.page(user_id=user.pk, before=None, limit=1000)
    return None if page is None else page.ids


def _home(user: User, limit: int = 20, before: int | None = None) -> list[int]:
    return [t.id for t in home_timeline(user_id=user.pk, before=before, limit=limit).items]


def _sql(user: User) -> list[int]:
    return list(Tweet.objects.timeline_of(user.pk).order_by("-id").values_list("id", flat=True))


def test_fanout_reaches_followers_with_feeds_only() -> None:
    author, active, inactive, no_feed = _user("author"), _user("active"), _user("inactive"), _user("nofeed")
    for fan in (active, inactive, no_feed):
        follow_create(follower=fan, followee=author)
    for user in (author, active, inactive):
        services.feed_rebuild(user_id=user.pk)
    User.objects.filter(pk=inactive.pk).update(last_active=timezone.now() - timedelta(days=8))
    services.drop_inactive_feeds()  # the periodic sweep: turning inactive loses the feed

    tweet = tweet_create(author=author, text="hello followers")

    assert _feed(active) == [tweet.id]
    assert _feed(inactive) is None  # no feed, so no write: rebuilt from Postgres on return
    assert _feed(no_feed) is None  # never given a partial feed
    assert _feed(author) == [tweet.id]  # own tweets are in one's own feed
    assert services.drop_inactive_feeds() == 1
    assert _feed(inactive) is None


@override_settings(CELEBRITY_THRESHOLD=2, CELEBRITY_HYSTERESIS=0.5)
def test_celebrity_tweets_are_merged_at_read_time_not_fanned_out() -> None:
    star = _user("star")
    fans = [_user(f"fan{n}") for n in range(3)]
    for fan in fans:
        follow_create(follower=fan, followee=star)
        services.feed_rebuild(user_id=fan.pk)
    assert UserStats.objects.get(user_id=star.pk).fanout_mode == FanoutMode.PULL

    tweet = tweet_create(author=star, text="one write, not three")

    for fan in fans:
        assert tweet.id not in (_feed(fan) or [])
        assert _home(fan) == [tweet.id] == _sql(fan)


@override_settings(CELEBRITY_THRESHOLD=2, CELEBRITY_HYSTERESIS=0.5)
def test_demotion_backfills_feeds_before_readers_stop_merging() -> None:
    star = _user("star")
    fans = [_user(f"fan{n}") for n in range(3)]
    for fan in fans:
        follow_create(follower=fan, followee=star)
        services.feed_rebuild(user_id=fan.pk)
    tweet = tweet_create(author=star, text="posted while famous")
    assert tweet.id not in (_feed(fans[0]) or [])

    follow_delete(follower=fans[2], followee=star)
    follow_delete(follower=fans[1], followee=star)  # 1 follower <= 2 * 0.5: demoted, backfilled

    assert UserStats.objects.get(user_id=star.pk).fanout_mode == FanoutMode.PUSH
    assert tweet.id in (_feed(fans[0]) or [])
    assert _home(fans[0]) == _sql(fans[0]) == [tweet.id]


@override_settings(TIMELINE_LENGTH=4)
def test_follow_backfill_raises_the_floor_when_it_adds_only_the_newest() -> None:
    reader, prolific = _user("reader"), _user("prolific")
    ids = [tweet_create(author=prolific, text=f"t{n}").id for n in range(7)]
    services.feed_rebuild(user_id=reader.pk)  # empty and complete: floor 0

    follow_create(follower=reader, followee=prolific)

    page = store.page(user_id=reader.pk, before=None, limit=100)
    assert page is not None
    assert page.ids == ids[::-1][:4]
    assert page.floor == ids[2]  # the newest id NOT added: older ones come from SQL
    assert _home(reader, limit=3) == ids[::-1][:3]
    assert [t for p in _pages(reader, 3) for t in p] == ids[::-1] == _sql(reader)


def _pages(user: User, limit: int) -> list[list[int]]:
    pages, before = [], None
    while True:
        page = home_timeline(user_id=user.pk, before=before, limit=limit)
        pages.append([t.id for t in page.items])
        if page.next_cursor is None:
            return pages
        before = page.next_cursor


@override_settings(TIMELINE_LENGTH=3)
def test_scrolling_past_the_feed_continues_in_sql_without_gap_or_duplicate() -> None:
    reader, friend = _user("reader"), _user("friend")
    follow_create(follower=reader, followee=friend)
    ids = [tweet_create(author=friend if n % 2 else reader, text=f"t{n}").id for n in range(11)]
    services.feed_rebuild(user_id=reader.pk)

    pages = _pages(reader, 2)

    assert [t for page in pages for t in page] == ids[::-1]
    assert len(_feed(reader) or []) == 3


def test_delete_and_unfollow_leave_feeds() -> None:
    reader, friend = _user("reader"), _user("friend")
    follow_create(follower=reader, followee=friend)
    services.feed_rebuild(user_id=reader.pk)
    keep = tweet_create(author=friend, text="keep")
    gone = tweet_create(author=friend, text="gone")
    assert _feed(reader) == [gone.id, keep.id]

    tweet_delete(tweet_id=gone.id, user=friend)
    assert _feed(reader) == [keep.id]

    follow_delete(follower=reader, followee=friend)
    assert _feed(reader) == []
    assert _home(reader) == []


def test_stale_ids_never_reach_the_page_and_are_reported() -> None:
    """A fan-out batch that read the followers before an unfollow committed and writes after the
    cleanup ran: the id lands in the feed of someone who no longer follows the author. The page
    does not show it (the unfollow's tombstone, no SQL check on the fast path) and reports it."""
    reader, friend = _user("reader"), _user("friend")
    follow_create(follower=reader, followee=friend)
    services.feed_rebuild(user_id=reader.pk)
    tweet = tweet_create(author=friend, text="soon unfollowed")
    follow_delete(follower=reader, followee=friend)  # the cleanup runs (eager tasks)
    assert _feed(reader) == []
    store.push(tweet_ids=[tweet.id], user_ids=[reader.pk])  # the late batch
    reported: list[list[int]] = []

    page = home_timeline(user_id=reader.pk, before=None, limit=10, on_stale_ids=lambda _u, ids: reported.append(ids))

    assert page.items == []
    assert reported == [[tweet.id]]


def test_a_follow_again_lifts_the_unfollow_at_once() -> None:
    reader, friend = _user("reader"), _user("friend")
    follow_create(follower=reader, followee=friend)
    services.feed_rebuild(user_id=reader.pk)
    tweet = tweet_create(author=friend, text="back again")
    follow_delete(follower=reader, followee=friend)
    assert _home(reader) == []
    follow_create(follower=reader, followee=friend)
    page = home_timeline(user_id=reader.pk, before=None, limit=10)
    assert [card.id for card in page.items] == [tweet.id]
    assert page.source == "feed"


def test_rebuild_keeps_tweets_fanned_out_while_it_reads_postgres() -> None:
    """The race Mastodon lost posts to: a tweet fanned out between the rebuild's SQL read and
    its write. The buffer opened before the read catches it."""
    reader, friend = _user("reader"), _user("friend")
    follow_create(follower=reader, followee=friend)
    old = tweet_create(author=friend, text="before the rebuild")

    token = store.begin_rebuild(user_id=reader.pk)
    assert token
    snapshot = list(Tweet.objects.timeline_of(reader.pk).order_by("-id").values_list("id", flat=True))
    late = Tweet.objects.create(author=friend, text="committed after the snapshot")
    store.push(tweet_ids=[late.id], user_ids=[reader.pk])  # its fan-out, mid-rebuild
    store.finish_rebuild(user_id=reader.pk, tweet_ids=snapshot, floor=0, token=token)

    assert _feed(reader) == [late.id, old.id]


def test_rebuild_of_an_existing_feed_keeps_tweets_fanned_out_meanwhile() -> None:
    """A rebuild drops the feed it replaces (a feed and a buffer never coexist, so pushes to a
    feed need no buffer check); a push in between lands in the buffer, not in a doomed feed."""
    reader, friend = _user("reader"), _user("friend")
    follow_create(follower=reader, followee=friend)
    old = tweet_create(author=friend, text="before the rebuild")
    services.feed_rebuild(user_id=reader.pk)
    assert _feed(reader) == [old.id]

    token = store.begin_rebuild(user_id=reader.pk)
    assert token
    assert _feed(reader) is None  # readers get the SQL answer meanwhile
    snapshot = list(Tweet.objects.timeline_of(reader.pk).order_by("-id").values_list("id", flat=True))
    late = Tweet.objects.create(author=friend, text="committed after the snapshot")
    # Buffered, no feed to write; still reached, so a page open during the rebuild hears of it live
    # (it did not, before: its reader saw the tweet only on the next reload or catch-up).
    assert store.push(tweet_ids=[late.id], user_ids=[reader.pk]) == [reader.pk]
    store.finish_rebuild(user_id=reader.pk, tweet_ids=snapshot, floor=0, token=token)

    assert _feed(reader) == [late.id, old.id]


def test_a_second_rebuild_waits_for_the_first() -> None:
    reader = _user("reader")
    token = store.begin_rebuild(user_id=reader.pk)
    assert token
    assert services.feed_rebuild(user_id=reader.pk) is False
    store.abandon_rebuild(user_id=reader.pk, token=token)
    assert services.feed_rebuild(user_id=reader.pk) is True


def test_missing_feed_is_served_from_sql_and_rebuild_requested() -> None:
    reader, friend = _user("reader"), _user("friend")
    follow_create(follower=reader, followee=friend)
    tweet = tweet_create(author=friend, text="after a flush")
    store.drop(user_ids=[reader.pk])
    asked: list[int] = []

    page = home_timeline(user_id=reader.pk, before=None, limit=10, on_missing_feed=asked.append)

    assert [t.id for t in page.items] == [tweet.id]
    assert page.source == "sql"
    assert asked == [reader.pk]


def test_redis_down_serves_sql_without_error() -> None:
    reader, friend = _user("reader"), _user("friend")
    follow_create(follower=reader, followee=friend)
    tweet = tweet_create(author=friend, text="still readable")
    with override_settings(FEEDS_REDIS_URL="unix:///nonexistent/redis.sock"):
        page = home_timeline(user_id=reader.pk, before=None, limit=10)
    assert [t.id for t in page.items] == [tweet.id]


def test_feed_memory_stays_compact() -> None:
    """A feed at its largest (TIMELINE_LENGTH + TIMELINE_TRIM_SLACK ids, the defaults) stays in the
    listpack encoding: at most 2 KB a feed (a skiplist would be 10-50 KB)."""
    from django.conf import settings

    reader, friend = _user("reader"), _user("friend")
    follow_create(follower=reader, followee=friend)
    Tweet.objects.bulk_create([Tweet(author=friend, text=f"t{n}") for n in range(150)])
    services.feed_rebuild(user_id=reader.pk)
    largest = settings.TIMELINE_LENGTH + settings.TIMELINE_TRIM_SLACK
    for n in range(settings.TIMELINE_TRIM_SLACK):
        tweet_create(author=friend, text=f"new {n}")
    from tweethub.redis import feed_shards

    assert len(_feed(reader) or []) == largest
    encoding = feed_shards().client(reader.pk).object("encoding", store.feed_key(reader.pk))
    assert encoding in (b"listpack", "listpack")
    assert store.memory_usage(user_id=reader.pk) <= 2048


@override_settings(TIMELINE_LENGTH=3, TIMELINE_TRIM_SLACK=2)
def test_a_feed_grows_by_the_slack_then_trims_back_raising_its_floor() -> None:
    reader, friend = _user("reader"), _user("friend")
    follow_create(follower=reader, followee=friend)
    services.feed_rebuild(user_id=reader.pk)
    ids = [tweet_create(author=friend, text=f"t{n}").id for n in range(5)]
    assert _feed(reader) == ids[::-1]  # 3 + 2 ids fit: no trim yet

    ids.append(tweet_create(author=friend, text="t5").id)

    # Over the slack: trimmed back to the newest 3, the floor at the highest id removed.
    page = store.page(user_id=reader.pk, before=None, limit=100)
    assert page is not None
    assert page.ids == ids[::-1][:3]
    assert page.floor == ids[2]
    assert [t for p in _pages(reader, 2) for t in p] == ids[::-1] == _sql(reader)


@pytest.mark.usefixtures("celery_worker")
def test_fanout_runs_on_a_real_worker_through_the_broker(settings: Any) -> None:
    """Not eager: the tweet's commit queues the task on Redis; the worker thread runs it."""
    from tweethub.celery import app

    app.conf.task_always_eager = False
    author, fan = _user("author"), _user("fan")
    follow_create(follower=fan, followee=author)
    services.feed_rebuild(user_id=fan.pk)
    tweet = tweet_create(author=author, text="through the broker")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and tweet.id not in (_feed(fan) or []):
        time.sleep(0.05)
    assert tweet.id in (_feed(fan) or [])
