"""Moderation services on real Postgres and Redis: reports, staff actions, the audit log, and what a
suspension does to logins, feeds, lists and pages (and undoes when it is lifted)."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client

from accounts import services as account_services
from accounts.models import User
from follows.services import follow_create
from messaging.models import Message
from messaging.services import message_send
from moderation import services
from moderation.models import ActionKind, ModerationAction, Report, ReportStatus
from tests.factories import PASSWORD, make_user
from tests.oracles import home_timeline_oracle
from timelines.selectors import home_timeline
from timelines.services import feed_rebuild
from tweets import trends
from tweets.models import Tweet
from tweets.selectors import explore_tweets, tweets_with_tag
from tweets.services import tweet_create

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("eager_tasks")]


@pytest.fixture
def staff() -> User:
    return make_user("mod", is_staff=True)


def _home(user: User) -> list[int]:
    return [card.id for card in home_timeline(user_id=user.pk, before=None, limit=50).items]


def test_a_report_keeps_what_the_reporter_saw_and_counts_once() -> None:
    alice, bob = make_user("alice"), make_user("bob")
    tweet = tweet_create(author=bob, text="buy cheap watches at spam.example")
    report = services.report_create(reporter=alice, kind="tweet", target_id=tweet.pk, reason="spam", note=" spam ")
    assert (report.subject_id, report.tweet_id, report.snapshot, report.note) == (bob.pk, tweet.pk, tweet.text, "spam")
    with pytest.raises(services.AlreadyReported):
        services.report_create(reporter=alice, kind="tweet", target_id=tweet.pk, reason="abuse")
    assert Report.objects.count() == 1


def test_bad_reports_are_refused_and_write_nothing() -> None:
    alice, bob, carol = make_user("alice"), make_user("bob"), make_user("carol")
    own = tweet_create(author=alice, text="mine")
    with pytest.raises(ValidationError, match="yourself"):
        services.report_create(reporter=alice, kind="tweet", target_id=own.pk, reason="spam")
    with pytest.raises(ValidationError):
        services.report_create(reporter=alice, kind="tweet", target_id=own.pk, reason="not-a-reason")
    with pytest.raises(ValidationError):
        services.report_create(reporter=alice, kind="profile", target_id=bob.pk, reason="spam", note="x" * 501)
    with pytest.raises(ValidationError):
        services.report_create(reporter=alice, kind="profile", target_id=bob.pk, reason="spam", note="nul\x00")
    with pytest.raises(Tweet.DoesNotExist):
        services.report_create(reporter=alice, kind="tweet", target_id=own.pk + 999, reason="spam")
    # A message of someone else's conversation: not even confirmed to exist.
    message = message_send(sender=bob, recipient=carol, text="private between bob and carol")
    with pytest.raises(Message.DoesNotExist):
        services.report_create(reporter=alice, kind="message", target_id=message.pk, reason="abuse")
    assert not Report.objects.exists()


def test_only_staff_act(staff: User) -> None:
    alice, bob = make_user("alice"), make_user("bob")
    tweet = tweet_create(author=bob, text="reported")
    report = services.report_create(reporter=alice, kind="tweet", target_id=tweet.pk, reason="spam")
    for attempt in (
        lambda: services.report_dismiss(moderator=alice, report_id=report.pk),
        lambda: services.tweet_takedown(moderator=alice, tweet_id=tweet.pk),
        lambda: services.account_suspend(moderator=alice, user_id=bob.pk),
        lambda: services.account_unsuspend(moderator=alice, user_id=bob.pk),
    ):
        with pytest.raises(PermissionDenied):
            attempt()
    assert Tweet.objects.filter(pk=tweet.pk).exists()
    assert User.objects.get(pk=bob.pk).is_active
    assert Report.objects.get().status == ReportStatus.OPEN
    assert not ModerationAction.objects.exists()
    with pytest.raises(PermissionDenied, match="Staff"):
        services.account_suspend(moderator=staff, user_id=make_user("other_mod", is_staff=True).pk)


def test_dismiss_and_takedown_close_reports_and_are_logged(staff: User) -> None:
    alice, bob, carol = make_user("alice"), make_user("bob"), make_user("carol")
    follow_create(follower=carol, followee=bob)
    kept = tweet_create(author=bob, text="harmless")
    bad = tweet_create(author=bob, text="awful")
    first = services.report_create(reporter=alice, kind="tweet", target_id=kept.pk, reason="other")
    services.report_dismiss(moderator=staff, report_id=first.pk, note="fine")
    services.report_dismiss(moderator=staff, report_id=first.pk)  # twice: nothing more happens
    r1 = services.report_create(reporter=alice, kind="tweet", target_id=bad.pk, reason="abuse")
    r2 = services.report_create(reporter=carol, kind="tweet", target_id=bad.pk, reason="abuse")
    assert bad.pk in _home(carol)

    services.tweet_takedown(moderator=staff, tweet_id=bad.pk, report_id=r1.pk, note="rule 1")

    assert not Tweet.objects.filter(pk=bad.pk).exists()
    assert _home(carol) == [kept.pk] == home_timeline_oracle(carol.pk)[:1]
    assert {r.pk: r.status for r in Report.objects.all()} == {
        first.pk: ReportStatus.DISMISSED,
        r1.pk: ReportStatus.ACTIONED,
        r2.pk: ReportStatus.ACTIONED,
    }
    log = list(
        ModerationAction.objects.order_by("id").values_list("action", "actor_username", "subject_username", "note")
    )
    assert log == [(ActionKind.DISMISS, "mod", "bob", "fine"), (ActionKind.DELETE_TWEET, "mod", "bob", "rule 1")]
    with pytest.raises(Tweet.DoesNotExist):
        services.tweet_takedown(moderator=staff, tweet_id=bad.pk)


def test_suspension_hides_everything_and_lifting_it_brings_it_back(staff: User, settings: object) -> None:
    alice, bob, carol = make_user("alice"), make_user("bob"), make_user("carol")
    follow_create(follower=alice, followee=bob)
    follow_create(follower=carol, followee=bob)
    for user in (alice, bob, carol):  # everyone has a feed: fan-out writes them, pages read them
        feed_rebuild(user_id=user.pk)
    tweets = [tweet_create(author=bob, text=f"bob #topic {n}").pk for n in range(3)]
    own = tweet_create(author=alice, text="alice #topic").pk
    report = services.report_create(reporter=alice, kind="profile", target_id=bob.pk, reason="spam")
    before = _home(alice)
    assert set(tweets) <= set(before)

    assert services.account_suspend(moderator=staff, user_id=bob.pk, report_id=report.pk, note="spam wave")
    assert not services.account_suspend(moderator=staff, user_id=bob.pk)  # already: nothing more

    bob.refresh_from_db()
    assert not bob.is_active
    assert bob.suspended_at is not None
    assert _home(alice) == [own] == home_timeline_oracle(alice.pk)
    assert _home(carol) == []
    assert home_timeline(user_id=carol.pk, before=None, limit=50).source == "feed"  # cleaned, not bypassed
    assert [c.id for c in explore_tweets(before=None, limit=10).items] == [own]
    assert [c.id for c in tweets_with_tag(tag="topic", before=None, limit=10).items] == [own]
    assert Report.objects.get().status == ReportStatus.ACTIONED
    # No login, and the services refuse its writes.
    client = Client()
    response = client.post("/accounts/login/", {"username": "bob", "password": PASSWORD})
    assert "This account is suspended" in response.content.decode()
    assert "_auth_user_id" not in client.session
    with pytest.raises(PermissionDenied):
        tweet_create(author=bob, text="still here?")
    assert Client().get("/@bob/").status_code == 404
    assert "Account suspended" in Client().get("/@bob/").content.decode()
    assert Client().get(f"/tweets/{tweets[0]}/").status_code == 404

    assert services.account_unsuspend(moderator=staff, user_id=bob.pk, note="appeal granted")

    assert _home(alice) == home_timeline_oracle(alice.pk) == sorted([*tweets, own], reverse=True)
    assert _home(carol) == sorted(tweets, reverse=True)
    assert _home(bob) == home_timeline_oracle(bob.pk) == sorted(tweets, reverse=True)  # his own feed too
    # Served from the feeds again (the backfill ran: eager tasks), not from SQL.
    assert home_timeline(user_id=carol.pk, before=None, limit=50).source == "feed"
    feed_rebuild(user_id=bob.pk)  # his own feed was dropped on unsuspension, rebuilt on his next read
    assert home_timeline(user_id=bob.pk, before=None, limit=50).source == "feed"
    assert Client().get("/@bob/").status_code == 200
    assert Client().post("/accounts/login/", {"username": "bob", "password": PASSWORD}).status_code == 302
    log = list(ModerationAction.objects.order_by("id").values_list("action", "note"))
    assert log == [(ActionKind.SUSPEND, "spam wave"), (ActionKind.UNSUSPEND, "appeal granted")]


def test_a_suspended_account_is_logged_out_everywhere(staff: User) -> None:
    bob = make_user("bob")
    client = Client()
    client.post("/accounts/login/", {"username": "bob", "password": PASSWORD})
    assert client.get("/settings/profile/").status_code == 200
    services.account_suspend(moderator=staff, user_id=bob.pk)
    assert client.get("/settings/profile/").status_code == 302  # to the login page


def test_wrong_password_of_a_suspended_account_says_nothing_about_it(staff: User) -> None:
    bob = make_user("bob")
    services.account_suspend(moderator=staff, user_id=bob.pk)
    response = Client().post("/accounts/login/", {"username": "bob", "password": "wrong-password"})
    assert "suspended" not in response.content.decode()
    with pytest.raises(PermissionDenied):
        account_services.credentials_check(identifier="bob", password=PASSWORD, ip="127.0.0.9")


def test_a_suspended_accounts_tags_stop_trending_and_come_back(staff: User) -> None:
    alice, spammer = make_user("alice"), make_user("spammer")
    tweet_create(author=alice, text="#django is nice")
    for _ in range(3):
        tweet_create(author=spammer, text="#buyfollowers now, #django too")
    assert dict(trends.top()) == {"buyfollowers": 3.0, "django": 4.0}

    services.account_suspend(moderator=staff, user_id=spammer.pk)
    assert dict(trends.top()) == {"django": 1.0}
    assert trends.recount() == 1  # a rebuild from Postgres leaves them out too
    assert dict(trends.top()) == {"django": 1.0}

    services.account_unsuspend(moderator=staff, user_id=spammer.pk)
    assert dict(trends.top()) == {"buyfollowers": 3.0, "django": 4.0}
