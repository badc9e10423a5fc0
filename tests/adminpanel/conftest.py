"""A small demo site built through the real services: what the purge must remove, and what not."""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import psycopg
import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.mail import send_mail
from django.db import connection
from PIL import Image

from accounts.models import User, UserStats
from accounts.selectors import nearby_people
from accounts.services import location_share, profile_update, user_touch_last_active
from adminpanel.services import PURGE_LOCK_KEY, PURGE_LOCK_NAMESPACE, heartbeat_record
from follows import feedstate
from follows.models import Follow
from follows.services import follow_create
from mailcatcher.models import CapturedMail
from messaging.models import Conversation, Message
from messaging.services import message_send
from tests.factories import make_user
from timelines import services as timeline_services
from timelines import store
from timelines.services import feed_rebuild
from tweethub import presence
from tweethub.redis import feeds
from tweets import trends
from tweets.cards import cards_for
from tweets.models import Tweet
from tweets.services import tweet_create

# Key families the purge must remove, spelled out here (not imported from the code under test).
PURGED_PREFIXES = (
    "tl:{", "tlb:{", "tlr:{", "tlq:{", "la:{", "trend:", "rl:", "geo:users",
    "at:{", "atb:{", "atr:{", "atq:{", "tlu:{", "tlp:{", "tlpv", "tc:", "uc:",
)  # fmt: skip
# Keys of the other tenants of the same Redis (broker, channel layer, cache) and live presence.
SENTINELS = {b"default": b"queued-task", b"asgi:xyz": b"channel-message", b"cache:sess": b"session"}


def _png() -> SimpleUploadedFile:
    out = io.BytesIO()
    Image.new("RGB", (64, 64), "teal").save(out, format="PNG")
    return SimpleUploadedFile("me.png", out.getvalue(), content_type="image/png")


def _with_avatar(user: User) -> User:
    return profile_update(user=user, name=user.name, bio=user.bio, location="", website="", avatar=_png())


def family(key: bytes) -> str | None:
    """The purged key family `key` belongs to, or None if it must survive."""
    name = key.decode()
    return next((prefix for prefix in PURGED_PREFIXES if name.startswith(prefix)), None)


# The auth-user cache (accounts.authcache): the purge drops the rows of the users it deletes and
# bumps their generations (tests/accounts/test_auth_cache.py covers both), so these keys change.
AUTH_CACHE_PREFIXES = (b"au:{", b"aug:{")


def redis_snapshot() -> dict[bytes, bytes]:
    """Every key in the feeds Redis with its serialised value (DUMP): any change shows."""
    client = feeds()
    return {
        key: cast(bytes, client.dump(key))
        for key in client.scan_iter(count=1000)
        if not key.startswith(AUTH_CACHE_PREFIXES)
    }


def db_snapshot() -> dict[str, int]:
    return {
        "users": User.objects.count(),
        "stats": UserStats.objects.count(),
        "tweets": Tweet.objects.count(),
        "follows": Follow.objects.count(),
        "conversations": Conversation.objects.count(),
        "messages": Message.objects.count(),
        "mails": CapturedMail.objects.count(),
        "mail_recipients": CapturedMail.recipients.through.objects.count(),
    }


def media_files() -> list[str]:
    root = Path(settings.MEDIA_ROOT)
    return sorted(str(path.relative_to(root)) for path in root.rglob("*") if path.is_file())


@dataclass
class DemoSite:
    staff: User
    root: User  # a superuser who is not staff: an operator too
    alice: User
    bob: User
    keep_file: Path  # a media file outside avatars/

    def ids(self) -> list[int]:
        return [self.staff.pk, self.root.pk, self.alice.pk, self.bob.pk]


@pytest.fixture
def demo_site(transactional_db: None, eager_tasks: None) -> DemoSite:
    """Two visitors and two operators with tweets, follows, messages, mail, avatars, feeds, trends,
    rate-limit windows and last-active throttles, plus keys of the broker, channel layer and cache.
    Bob shares a position (the GEO index). Counts, used by the tests: 2 purgeable users, 3 tweets, 4 follows, 2 conversations, 3 messages,
    1 mail, 2 avatars."""
    staff = make_user("staff", is_staff=True, bio="runs the demo")
    root = make_user("root", is_superuser=True)
    alice, bob = make_user("alice"), make_user("bob")
    for user in (staff, root, alice, bob):
        user_touch_last_active(user=user)  # la:{id}, and active: fan-out reaches their feeds
    for user in (staff, alice, bob):
        feed_rebuild(user_id=user.pk)  # tl:{id} (the floor inside)

    follow_create(follower=alice, followee=bob)
    follow_create(follower=bob, followee=alice)
    follow_create(follower=alice, followee=staff)
    follow_create(follower=staff, followee=bob)
    tweet_create(author=alice, text="hello #demo")  # rl:tweet:..., trend:<hour>
    tweet_create(author=bob, text="hi #demo #purge")
    tweet_create(author=staff, text="welcome to the #demo")
    trends.top()  # trend:top
    location_share(user=bob, latitude=52.52, longitude=13.40)  # geo:users (after commit), rl:location:...
    nearby_people(viewer=bob, limit=5)  # geo:users:ready
    message_send(sender=alice, recipient=bob, text="hi Bob")  # rl:dm:...
    message_send(sender=bob, recipient=alice, text="hi Alice")
    message_send(sender=staff, recipient=alice, text="welcome")
    send_mail("Welcome", "Hello both", None, ["alice@example.com", "staff@example.com"])
    alice, staff = _with_avatar(alice), _with_avatar(staff)
    store.claim_rebuild_request(user_id=root.pk)  # tlq:{id}
    store.begin_rebuild(user_id=root.pk)  # tlr:{id}, tlb:{id}: a rebuild in flight
    timeline_services.author_list_rebuild(author_id=alice.pk)  # at:{id} (the floor inside)
    store.claim_rebuild_request(user_id=bob.pk, kind=store.Kind.AUTHOR)  # atq:{id}
    store.begin_rebuild(user_id=bob.pk, kind=store.Kind.AUTHOR)  # atr:{id}, atb:{id}
    feedstate.unfollowed(follower_id=alice.pk, followee_id=root.pk)  # tlu:{id}
    feedstate.pull_set_store(user_id=alice.pk, version=feedstate.pull_version(), author_ids=[])  # tlpv, tlp:{id}
    cards_for(list(Tweet.objects.values_list("id", flat=True)), variant="list")  # tc:<id>, uc:<id>

    heartbeat_record(worker="worker@demo")
    keep_file = Path(settings.MEDIA_ROOT) / "branding" / "logo.txt"
    keep_file.parent.mkdir(parents=True)
    keep_file.write_text("not an upload")
    client = feeds()
    for key, value in SENTINELS.items():
        client.set(key, value)
    presence.connected(alice.pk)  # ws:online

    # The fixture really built what the tests claim it did.
    assert db_snapshot() | {"stats": 0} == {
        "users": 4, "stats": 0, "tweets": 3, "follows": 4, "conversations": 2, "messages": 3, "mails": 1,
        "mail_recipients": 2,
    }  # fmt: skip
    assert len([name for name in media_files() if name.startswith("avatars/")]) == 2
    families = Counter(family(key) for key in redis_snapshot())
    assert set(PURGED_PREFIXES) <= set(families), families
    return DemoSite(staff=staff, root=root, alice=alice, bob=bob, keep_file=keep_file)


@pytest.fixture
def lock_held_elsewhere(transactional_db: None) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    """Another session (as another process or machine would) holding the purge lock."""
    other = psycopg.connect(**connection.get_connection_params(), autocommit=True)
    other.execute("SELECT pg_advisory_lock(%s, %s)", (PURGE_LOCK_NAMESPACE, PURGE_LOCK_KEY))
    yield other
    other.close()


def run_counts(**overrides: int) -> dict[str, Any]:
    """PurgeRun.counts with every kind at zero except `overrides`."""
    kinds = ("users", "tweets", "follows", "conversations", "messages", "mails", "avatars", "redis_keys")
    return {kind: overrides.get(kind, 0) for kind in kinds}
