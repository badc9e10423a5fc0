"""The report form and the staff pages over HTTP: what each shows, what bad input gets, and that
each staff page costs a constant number of queries however much it lists."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts.models import User
from messaging.services import message_send
from moderation import services
from moderation.models import ModerationAction, Report, ReportStatus
from tests.factories import make_user
from tweets.models import Tweet
from tweets.services import tweet_create

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("eager_tasks")]


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_reporting_a_tweet_from_the_form() -> None:
    alice, bob = make_user("alice"), make_user("bob")
    tweet = tweet_create(author=bob, text="<b>shouting</b> at everyone")
    client = _client(alice)

    page = client.get(f"/report/tweet/{tweet.pk}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Report this tweet" in html
    assert "&lt;b&gt;shouting&lt;/b&gt;" in html
    assert "<b>shouting" not in html

    empty = client.post(f"/report/tweet/{tweet.pk}/", {"reason": ""})
    assert empty.status_code == 400
    assert "Choose a reason." in empty.content.decode()
    assert not Report.objects.exists()

    sent = client.post(f"/report/tweet/{tweet.pk}/", {"reason": "abuse", "note": "rude"}, follow=True)
    assert "Thank you. Our team will review your report." in sent.content.decode()
    assert sent.redirect_chain[-1][0] == f"/tweets/{tweet.pk}/"
    again = client.post(f"/report/tweet/{tweet.pk}/", {"reason": "spam"}, follow=True)
    assert "You have already reported this." in again.content.decode()
    assert list(Report.objects.values_list("reason", "note")) == [("abuse", "rude")]


def test_report_routes_refuse_what_is_not_theirs_to_report() -> None:
    alice, bob, carol = make_user("alice"), make_user("bob"), make_user("carol")
    message = message_send(sender=bob, recipient=carol, text="between bob and carol")
    client = _client(alice)
    assert client.get(f"/report/message/{message.pk}/").status_code == 404
    assert client.get("/report/nonsense/1/").status_code == 404
    assert client.get(f"/report/profile/{alice.pk}/").status_code == 200  # the form; posting it is refused
    own = client.post(f"/report/profile/{alice.pk}/", {"reason": "spam"})
    assert own.status_code == 400
    assert "You cannot report yourself." in own.content.decode()
    assert Client().get(f"/report/profile/{bob.pk}/").status_code == 302  # to log in
    assert not Report.objects.exists()


def test_the_queue_shows_each_item_in_context_and_acts() -> None:
    staff, alice, bob, carol = (
        make_user("mod", is_staff=True),
        make_user("alice"),
        make_user("bob"),
        make_user("carol"),
    )
    message_send(sender=alice, recipient=bob, text="hello bob")
    threat = message_send(sender=bob, recipient=alice, text="a nasty message")
    message_send(sender=alice, recipient=bob, text="please stop")
    tweet = tweet_create(author=bob, text="a bad tweet")
    services.report_create(reporter=alice, kind="message", target_id=threat.pk, reason="violence")
    services.report_create(reporter=alice, kind="tweet", target_id=tweet.pk, reason="abuse")
    services.report_create(reporter=carol, kind="tweet", target_id=tweet.pk, reason="abuse")
    client = _client(staff)

    html = client.get("/admin/moderation/").content.decode()
    assert "3 open reports" in html
    assert "+1 more report" in html  # the tweet's two reports are one item
    # The reported message between the ones around it.
    assert html.index("hello bob") < html.index("a nasty message") < html.index("please stop")

    response = client.post(f"/admin/moderation/tweets/{tweet.pk}/delete/", {"report": "", "note": ""}, follow=True)
    assert "Tweet deleted." in response.content.decode()
    assert not Tweet.objects.filter(pk=tweet.pk).exists()
    response = client.post(f"/admin/users/{bob.pk}/suspend/", {"note": "threats"}, follow=True)
    assert "Account suspended." in response.content.decode()
    assert not Report.objects.filter(status=ReportStatus.OPEN).exists()
    assert "No open reports." in client.get("/admin/moderation/").content.decode()
    log = client.get("/admin/moderation/log/").content.decode()
    assert "Suspended an account" in log
    assert "threats" in log
    assert "Deleted a tweet" in log

    too_long = client.post(f"/admin/users/{bob.pk}/unsuspend/", {"note": "x" * 501}, follow=True)
    assert "at most 500 characters" in too_long.content.decode()
    assert not User.objects.get(pk=bob.pk).is_active
    gone = client.post(f"/admin/moderation/tweets/{tweet.pk}/delete/", follow=True)
    assert "That is already gone." in gone.content.decode()
    staff_target = client.post(f"/admin/users/{staff.pk}/suspend/", follow=True)
    assert "Staff accounts cannot be suspended." in staff_target.content.decode()
    assert ModerationAction.objects.count() == 2


def test_the_user_list_searches_and_shows_state() -> None:
    staff = make_user("mod", is_staff=True)
    make_user("alice", name="Alice Liddell")
    make_user("unverified_u", verified=False)
    client = _client(staff)
    html = client.get("/admin/users/?q=liddell").content.decode()
    assert "@alice" in html
    assert "Verified" in html
    assert "@unverified_u" not in html
    html = client.get("/admin/users/?status=unverified").content.decode()
    assert "@unverified_u" in html
    assert "@alice" not in html
    html = client.get("/admin/users/?q=nobody-like-this").content.decode()
    assert "No account matches" in html
    assert client.get("/admin/users/?status=bogus&q=%00").status_code == 200


@pytest.mark.parametrize("page", ["/admin/moderation/", "/admin/users/", "/admin/moderation/log/"])
def test_staff_pages_cost_the_same_queries_for_one_item_or_many(page: str) -> None:
    staff = make_user("mod", is_staff=True)
    client = _client(staff)

    def reports(n: int) -> None:
        for _ in range(n):
            reporter, author = make_user(), make_user()
            tweet = tweet_create(author=author, text="spam")
            dm = message_send(sender=author, recipient=reporter, text="spam dm")
            services.report_create(reporter=reporter, kind="tweet", target_id=tweet.pk, reason="spam")
            report = services.report_create(reporter=reporter, kind="message", target_id=dm.pk, reason="spam")
            services.report_dismiss(moderator=staff, report_id=report.pk)

    def queries() -> int:
        client.get(page)  # warm the session and user caches
        with CaptureQueriesContext(connection) as captured:
            assert client.get(page).status_code == 200
        return len(captured)

    reports(1)
    one = queries()
    reports(4)
    assert queries() == one
