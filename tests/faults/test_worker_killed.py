"""Issue 9 (b): the Celery worker is SIGKILLed in the middle of a large fan-out.

Injected: SIGKILL of the worker process (solo pool: the process running the task) once the tweet is in
some followers' feeds but not all. Observed: the fan-out was partial; the task was delivered and never
acknowledged (acks_late); a new worker gets it back and finishes it; then every active follower's feed
holds the tweet exactly once, no feed outgrew TIMELINE_LENGTH + TIMELINE_TRIM_SLACK, and the side
effects ran once and in full: one live event naming every online follower, one fan-out sample.

How the task comes back (kombu's Redis transport, kombu/transport/redis.py): a delivered message
sits in the `unacked` hash, scored in `unacked_index` by its delivery time. restore_visible() puts
back those older than the visibility timeout; a worker runs it as it starts (on_poll_init), and then
only every unacked_restore_interval x unacked_restore_throttle = 10 x 10 s. So the test waits until
the message is older than CELERY_VISIBILITY_TIMEOUT (10 s here) and then starts the new worker.
"""

from __future__ import annotations

import os
import signal
import time
from typing import cast

import pytest
from channels.layers import get_channel_layer
from django.conf import settings
from django.test.utils import override_settings
from django.utils import timezone

from accounts.models import User
from devstack.servers import Redis
from follows.models import Follow
from tests.factories import make_user
from tests.faults.conftest import Site, broker_idle, raw_client, wait_for, write_summary
from timelines import store
from timelines.services import feeds_bulk_build
from tweethub import presence
from tweethub.celery import queue_depth
from tweethub.redis import feeds
from tweets.services import tweet_create

FOLLOWERS = 8_000
BATCH = 10  # followers per fan-out step in the workers: 800 steps, a fan-out of a few seconds
VISIBILITY_TIMEOUT = 10
ONLINE = 3  # followers with an open socket (presence): the live event must name them
WATCHER = "specific.watcher!"  # the web process holding their sockets (see the test)
NO_CHUNKS = 1_000_000  # a follower threshold above FOLLOWERS


def _holding(tweet_id: int, user_ids: list[int]) -> list[int]:
    """Those of `user_ids` whose feed holds the tweet (one pipelined ZSCORE each)."""
    pipe = feeds().pipeline(transaction=False)
    for user_id in user_ids:
        pipe.zscore(store.feed_key(user_id), tweet_id)
    return [user_id for user_id, score in zip(user_ids, pipe.execute(), strict=True) if score is not None]


def _fanout_samples() -> list[bytes]:
    client = feeds()
    keys = list(client.scan_iter("metrics:fanout:*"))
    return [sample for key in keys for sample in cast(list[bytes], client.lrange(key, 0, -1))]


# One fan-out task, as this fault is about (8,000 followers would be cut into chunks: their reruns
# are tests/timelines/test_chunked_fanout.py's). Here for the router, in worker_env for the worker.
@override_settings(FANOUT_LARGE_THRESHOLD=NO_CHUNKS)
@pytest.mark.timeout(240)
def test_worker_killed_mid_fanout_the_task_comes_back_and_every_follower_gets_the_tweet_once(
    site: Site, on_fault_redis: Redis
) -> None:
    raw = raw_client(on_fault_redis)
    author = make_user("star")
    now = timezone.now()
    fans = [
        User(username=f"fan{i}", email=f"fan{i}@example.com", name=f"Fan {i}", password=author.password)
        for i in range(FOLLOWERS)
    ]
    for person in fans:
        person.verified_at = person.last_active = now  # active: their feeds take fan-out
    User.objects.bulk_create(fans, batch_size=2000)
    followers = list(User.objects.exclude(pk=author.pk).order_by("pk").values_list("pk", flat=True))
    Follow.objects.bulk_create([Follow(follower_id=fan, followee_id=author.pk) for fan in followers], batch_size=4000)
    assert feeds_bulk_build(user_ids=[author.pk, *followers]) == FOLLOWERS + 1
    # The first followers in fan-out order are online: the killed run writes their feeds first.
    online = followers[:ONLINE]
    # Their sockets live in a web process that reads nothing: what reaches its inbox stays there.
    channels = [f"{WATCHER}{n}" for n in range(ONLINE)]
    for fan, channel in zip(online, channels, strict=True):
        presence.connected(fan, channel)

    worker_env = {
        "FANOUT_BATCH_SIZE": str(BATCH),
        "CELERY_VISIBILITY_TIMEOUT": str(VISIBILITY_TIMEOUT),
        "FANOUT_LARGE_THRESHOLD": str(NO_CHUNKS),
    }
    first = site.start_worker(env=worker_env)
    tweet = tweet_create(author=author, text="Hello to all my fans")
    probe = followers[len(followers) // 20]  # 5% into the fan-out
    wait_for(lambda: bool(_holding(tweet.id, [probe])), timeout=60, interval=0.01, what="the fan-out to start")
    os.kill(first.pid, signal.SIGKILL)
    first.wait(10)
    killed_at = time.time()

    reached_by_killed = len(_holding(tweet.id, followers))
    assert 0 < reached_by_killed < FOLLOWERS  # partial: the rest is the new worker's job
    # Delivered and never acknowledged: the message waits in `unacked`, not in the queue.
    assert queue_depth(raw) == 0
    unacked = cast(list[tuple[bytes, float]], raw.zrange("unacked_index", 0, -1, withscores=True))
    assert len(unacked) == 1
    delivered_at = unacked[0][1]

    # A worker starting now would find the message not yet "visible" again (and then look only every
    # 100 s): start it once the visibility timeout has passed, so its start-up sweep restores it.
    wait_for(
        lambda: time.time() > delivered_at + VISIBILITY_TIMEOUT + 0.5,
        timeout=VISIBILITY_TIMEOUT + 5,
        interval=0.2,
        what="the visibility timeout",
    )
    restarted_at = time.time()
    site.start_worker(env=worker_env)
    wait_for(
        lambda: broker_idle(raw) and len(_holding(tweet.id, followers)) == FOLLOWERS,
        timeout=90,
        interval=0.5,
        what="the new worker to finish the fan-out",
    )
    finished_at = time.time()

    # Every active follower holds the tweet exactly once, and only it; no feed is over its cap.
    cap = settings.TIMELINE_LENGTH + settings.TIMELINE_TRIM_SLACK
    pipe = feeds().pipeline(transaction=False)
    for fan in followers:
        pipe.zrange(store.feed_key(fan), 1, -1)  # rank 0 is the floor member (store.FLOOR_MEMBER)
    contents = pipe.execute()
    assert all(members == [str(tweet.id).encode()] for members in contents)
    assert max(len(members) for members in contents) <= cap
    assert store.page(user_id=author.pk, before=None, limit=10).ids == [tweet.id]  # type: ignore[union-attr]

    # Side effects ran once, in full: one live event naming every online follower (the killed run
    # wrote their feeds but died before announcing), one fan-out sample counting every feed.
    layer = get_channel_layer()
    inbox = cast(list[bytes], raw.zrange(layer.prefix + WATCHER, 0, -1))
    published = [layer.deserialize(message) for message in inbox]
    new_tweet_events = [event for event in published if event.get("event") == "tweet.new"]
    assert len(new_tweet_events) == 1  # one message for the process, naming its three sockets
    assert new_tweet_events[0]["payload"]["id"] == tweet.id
    assert sorted(new_tweet_events[0]["__asgi_channel__"]) == sorted(channels)
    samples = _fanout_samples()
    assert len(samples) == 1
    recipients = int(samples[0].split(b":")[1])

    write_summary(
        "worker_killed",
        {
            "followers": FOLLOWERS,
            "fanout_batch_size": BATCH,
            "followers_reached_when_killed": reached_by_killed,
            "followers_reached_in_the_end": len(_holding(tweet.id, followers)),
            "feeds_not_holding_it_exactly_once": sum(members != [str(tweet.id).encode()] for members in contents),
            "largest_feed": max(len(members) for members in contents),
            "live_events_tweet_new": len(new_tweet_events),
            "live_event_sockets": len(new_tweet_events[0]["__asgi_channel__"]),
            "fanout_samples": len(samples),
            "fanout_sample_recipients": recipients,
            "visibility_timeout_s": VISIBILITY_TIMEOUT,
            "seconds_from_kill_to_new_worker": round(restarted_at - killed_at, 1),
            "seconds_from_new_worker_to_done": round(finished_at - restarted_at, 1),
        },
    )
    assert recipients >= FOLLOWERS
