"""Hostile-input fixtures: a small site with something private in every corner, three roles to
try it as, and a fingerprint of the whole database to prove a refused request changed nothing."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.apps import apps
from django.conf import settings
from django.conf import settings as django_settings
from django.core.mail import send_mail
from django.db import connection
from django.test import Client
from pytest_django import Settings

from accounts.models import User
from accounts.services import location_share
from follows.services import block_create, follow_create, mute_create
from mailcatcher.models import CapturedMail
from messaging.models import Conversation
from messaging.services import message_send
from moderation.services import account_suspend, report_create
from notifications.services import notify
from tests.factories import PASSWORD, make_user
from tweets.models import Tweet
from tweets.reposts import repost_create
from tweets.services import bookmark_create, like_create, tweet_create, tweet_delete, tweet_pin

# Columns every request may write whoever sends it, by design: the session row (the client's own
# state) and last_active (accounts.middleware, at most once per LAST_ACTIVE_RESOLUTION_SECONDS).
# Neither is data a forged or unauthorised request could take or change on someone's behalf.
BOOKKEEPING_TABLES = {"django_session"}
BOOKKEEPING_COLUMNS = ["last_active"]

# Alice's private things. Each string is unique, so finding it in a page is a leak.
DM_TO_CAROL = "dm-secret-alice-to-carol-8c1f"
DM_FROM_CAROL = "dm-secret-carol-to-alice-51e0"
MAIL_SUBJECT = "mail-secret-subject-for-alice-77aa"
MAIL_BODY = "mail-secret-body-for-alice-90b3"
MAIL_HTML = "mail-secret-html-for-alice-c0d7"
DELETED_TWEET = "deleted tweet that must never show again 4d2c"
# A report about Bob's tweet: staff see its note, nobody else does (the reporter is not told either).
REPORT_NOTE = "report-note-only-staff-read-6b1a"
# Carol's tweet (public), which Alice likes and bookmarks: her bookmarks page shows it, nobody else's.
CAROLS_TWEET = "carols-tweet-alice-keeps-5f3e"
# A shared position is stored snapped to the 0.01-degree grid; only distances are ever shown to
# others, and only Alice's own settings page shows her coordinates.
ALICE_POSITION = (12.34, 56.78)
BOB_POSITION = (12.41, 56.83)


@dataclass
class World:
    alice: User  # the owner of everything below
    bob: User  # another verified member: the "other" role
    carol: User  # Alice's correspondent and followee
    dave: User  # follows and is followed by Carol: suggested to Alice
    erin: User  # nobody follows her yet
    grace: User  # blocked and muted by Alice (her settings lists show her; nobody else's do)
    staff: User  # the owner of the admin panel's staff-only parts
    mallory: User  # suspended by staff
    tweet: Tweet  # Alice's, public
    pinned: Tweet  # Alice's, pinned
    bobs_tweet_id: int
    deleted_tweet_id: int
    conversation: Conversation  # Alice <-> Carol
    report_id: int  # Carol's report of Bob's tweet, open
    mail: CapturedMail  # to Alice only
    carols_tweet_id: int = 0  # liked, bookmarked and reposted by Alice (issue 21; her repost is hers to undo)


def build_world() -> World:
    """Setup goes through the services (messages, pins, positions have invariants the ORM alone
    would not keep); in a non-transactional test their after-commit side effects do not run."""
    alice = make_user("alice", bio="alice-bio-on-file-3e4d")
    bob, carol, dave, erin = (make_user(name) for name in ("bob", "carol", "dave", "erin"))
    staff = make_user("operator", is_staff=True)
    tweet = tweet_create(author=alice, text="alice says hello to everyone")
    pinned = tweet_create(author=alice, text="alice's pinned tweet")
    tweet_pin(tweet_id=pinned.pk, user=alice)
    bobs_tweet = tweet_create(author=bob, text="bob's tweet")
    doomed = tweet_create(author=alice, text=DELETED_TWEET)
    tweet_delete(tweet_id=doomed.pk, user=alice)
    follow_create(follower=alice, followee=carol)
    follow_create(follower=carol, followee=dave)
    follow_create(follower=carol, followee=alice)
    follow_create(follower=dave, followee=carol)
    message_send(sender=alice, recipient=carol, text=DM_TO_CAROL)
    message_send(sender=carol, recipient=alice, text=DM_FROM_CAROL)
    location_share(user=alice, latitude=ALICE_POSITION[0], longitude=ALICE_POSITION[1])
    location_share(user=bob, latitude=BOB_POSITION[0], longitude=BOB_POSITION[1])
    send_mail(MAIL_SUBJECT, MAIL_BODY, None, [alice.email], html_message=f"<p>{MAIL_HTML}</p>")
    report = report_create(reporter=carol, kind="tweet", target_id=bobs_tweet.pk, reason="spam", note=REPORT_NOTE)
    mallory = make_user("mallory")
    account_suspend(moderator=staff, user_id=mallory.pk)
    grace = make_user("grace")
    block_create(blocker=alice, blocked=grace)
    mute_create(muter=alice, muted=grace)
    low, high = sorted([alice.pk, carol.pk])
    # Issue 21: Alice likes and bookmarks Carol's tweet, and is told Carol follows her (the task the
    # follow queued does not run here, so the service is called as the task would).
    carols_tweet = tweet_create(author=carol, text=CAROLS_TWEET)
    like_create(user=alice, tweet_id=carols_tweet.pk)
    bookmark_create(user=alice, tweet_id=carols_tweet.pk)
    repost_create(user=alice, tweet_id=carols_tweet.pk)
    notify(kind="follow", actor_id=carol.pk, recipient_id=alice.pk)
    return World(
        alice=User.objects.get(pk=alice.pk),
        bob=User.objects.get(pk=bob.pk),
        carol=carol,
        dave=dave,
        erin=erin,
        grace=grace,
        staff=staff,
        mallory=User.objects.get(pk=mallory.pk),
        tweet=tweet,
        pinned=Tweet.objects.get(pk=pinned.pk),
        bobs_tweet_id=bobs_tweet.pk,
        deleted_tweet_id=doomed.pk,
        conversation=Conversation.objects.get(user_low_id=low, user_high_id=high),
        report_id=report.pk,
        mail=CapturedMail.objects.get(subject=MAIL_SUBJECT),
        carols_tweet_id=carols_tweet.pk,
    )


@pytest.fixture
def world(db: None) -> World:
    return build_world()


def logged_in(user: User, **client_options: object) -> Client:
    """A browser that logged in through the login form, as a person does: that also grants it the
    user's captured mail in DEMO_MODE (mailcatcher.access), which force_login would not."""
    client = Client(**client_options)  # type: ignore[arg-type]
    client.get("/accounts/login/")  # sets the CSRF cookie, as the page does for a browser
    token = client.cookies[settings.CSRF_COOKIE_NAME].value
    credentials = {"username": user.username, "password": PASSWORD, "csrfmiddlewaretoken": token}
    response = client.post("/accounts/login/", credentials)
    assert response.status_code == 302, response.content.decode()[:500]
    return client


def database_fingerprint() -> dict[str, tuple[int, str]]:
    """Row count and a digest of every row of every model's table (many-to-many tables included),
    bookkeeping aside: any insert, update or delete shows as a difference."""
    fingerprint = {}
    with connection.cursor() as cursor:
        for model in apps.get_models(include_auto_created=True):
            table = model._meta.db_table
            if table in BOOKKEEPING_TABLES or model._meta.proxy or not model._meta.managed:
                continue
            row = "(to_jsonb(t) - %s::text[])::text"
            cursor.execute(
                f"SELECT count(*), coalesce(md5(string_agg(md5({row}), ',' ORDER BY md5({row}))), '') "  # noqa: S608
                f"FROM {connection.ops.quote_name(table)} t",
                [BOOKKEEPING_COLUMNS, BOOKKEEPING_COLUMNS],
            )
            count, digest = cursor.fetchone()
            fingerprint[table] = (count, digest)
    return fingerprint


def fingerprint_diff(before: dict[str, tuple[int, str]], after: dict[str, tuple[int, str]]) -> list[str]:
    return [f"{table}: {before[table]} -> {after[table]}" for table in before if before[table] != after[table]]


# Rate limits the fuzz and the matrix would otherwise run into (hundreds of posts, logins and
# position moves a minute from one IP and one account). Raised, not removed: the limiter still runs.
GENEROUS_RATE = "1000000/1m"


@pytest.fixture
def generous_rate_limits(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    # Every limit the site has, found by name: a limit added later is raised here too.
    for name in [name for name in dir(django_settings) if name.startswith("RATE_LIMIT_")]:
        setattr(settings, name, GENEROUS_RATE)
    # Still a module constant (messaging/services.py says it should become a setting).
    monkeypatch.setattr("messaging.services.MESSAGE_RATE_LIMIT", GENEROUS_RATE)
