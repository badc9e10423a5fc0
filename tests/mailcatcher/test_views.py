"""/admin/mails/: who sees what, how mail is shown, and how the list pages."""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Protocol

import pytest
from django.core import mail
from django.core.mail import EmailMultiAlternatives
from django.test import Client, override_settings
from django.urls import reverse
from pytest_django import DjangoAssertNumQueries

from mailcatcher.models import CapturedMail
from mailcatcher.selectors import MAILS_PER_PAGE
from tests.mailcatcher.conftest import MakeUser, logged_in

LIST_URL = "/admin/mails/"


class _Response(Protocol):
    content: bytes


class _Tags(HTMLParser):
    """Start tags with their attributes, entity-decoded as a browser would decode them."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, dict(attrs)))


def tags(response: _Response, name: str) -> list[dict[str, str | None]]:
    parser = _Tags()
    parser.feed(response.content.decode())
    return [attrs for tag, attrs in parser.found if tag == name]


def detail_url(mail_id: int) -> str:
    return reverse("mailcatcher:detail", args=[mail_id])


def html_url(mail_id: int) -> str:
    return reverse("mailcatcher:html", args=[mail_id])


def detail_links(response: _Response) -> list[str | None]:
    return [a["href"] for a in tags(response, "a") if a.get("class") == "mail-subject"]


def only_mail_to(address: str) -> CapturedMail:
    return CapturedMail.objects.get(to=[address])


# --- Who sees what -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_staff_see_every_mail(client: Client, make_user: MakeUser) -> None:
    staff = make_user("root", is_staff=True)
    alice = make_user("alice")
    mail.send_mail("For alice", "x", None, [alice.email])
    mail.send_mail("For nobody", "x", None, ["nobody@example.com"])
    client.force_login(staff)

    response = client.get(LIST_URL)

    assert response.status_code == 200
    assert detail_links(response) == [
        detail_url(only_mail_to("nobody@example.com").pk),
        detail_url(only_mail_to(alice.email).pk),
    ]
    assert b"You are staff" in response.content
    assert client.get(detail_url(only_mail_to("nobody@example.com").pk)).status_code == 200


@pytest.mark.django_db
def test_demo_visitor_sees_only_the_mail_of_the_account_they_are_logged_into(
    client: Client, make_user: MakeUser
) -> None:
    alice, bob = make_user("alice"), make_user("bob")
    for user in (alice, bob):
        mail.send_mail(f"For {user.username}", "x", None, [user.email])
    mail.send_mail("For both", "x", None, [alice.email, bob.email])
    logged_in(client, alice)

    response = client.get(LIST_URL)

    assert response.status_code == 200
    assert detail_links(response) == [
        detail_url(CapturedMail.objects.get(subject="For both").pk),
        detail_url(only_mail_to(alice.email).pk),
    ]
    assert b"For bob" not in response.content
    assert b"the account you are logged into" in response.content
    assert client.get(detail_url(only_mail_to(alice.email).pk)).status_code == 200
    # Someone else's mail: exactly the answer a mail id that does not exist gets.
    assert client.get(detail_url(only_mail_to(bob.email).pk)).status_code == 404
    assert client.get(detail_url(only_mail_to(bob.email).pk + 1000)).status_code == 404


@pytest.mark.django_db
def test_the_html_document_follows_the_same_rule(client: Client, make_user: MakeUser) -> None:
    alice, bob = make_user("alice"), make_user("bob")
    for user in (alice, bob):
        mail.send_mail(f"For {user.username}", "x", None, [user.email], html_message=f"<p>Hi {user.username}</p>")
    logged_in(client, alice)

    assert client.get(html_url(only_mail_to(alice.email).pk)).content == b'<base target="_blank"><p>Hi alice</p>'
    assert client.get(html_url(only_mail_to(bob.email).pk)).status_code == 404
    assert client.get(html_url(only_mail_to(bob.email).pk + 1000)).status_code == 404


@pytest.mark.django_db
def test_an_inactive_account_reads_no_mail(client: Client, make_user: MakeUser) -> None:
    """Suspension makes an account inactive: whatever session it still has reads nothing."""
    alice = make_user("alice")
    mail.send_mail("For alice", "x", None, [alice.email])
    logged_in(client, alice)
    type(alice).objects.filter(pk=alice.pk).update(is_active=False)

    assert detail_links(client.get(LIST_URL)) == []
    assert client.get(detail_url(only_mail_to(alice.email).pk)).status_code == 404


@pytest.mark.django_db
def test_a_new_visitor_sees_an_explained_empty_inbox(client: Client, make_user: MakeUser) -> None:
    mail.send_mail("For alice", "x", None, [make_user("alice").email])

    response = client.get(LIST_URL)

    assert response.status_code == 200
    assert detail_links(response) == []
    assert b"No mail yet" in response.content
    assert b"Nothing is really sent" in response.content


@pytest.mark.django_db
@override_settings(DEMO_MODE=False)
def test_outside_demo_mode_only_staff_find_the_pages(client: Client, make_user: MakeUser) -> None:
    alice = make_user("alice")
    mail.send_mail("For alice", "x", None, [alice.email], html_message="<p>x</p>")
    url = detail_url(only_mail_to(alice.email).pk)
    html = html_url(only_mail_to(alice.email).pk)
    logged_in(client, alice)

    assert client.get(LIST_URL).status_code == 404
    assert client.get(url).status_code == 404
    assert client.get(html).status_code == 404

    client.force_login(make_user("root", is_staff=True))
    assert client.get(LIST_URL).status_code == 200
    assert client.get(url).status_code == 200
    assert client.get(html).status_code == 200


@pytest.mark.django_db
def test_pages_are_get_only_and_never_cached(client: Client, make_user: MakeUser) -> None:
    client.force_login(make_user("root", is_staff=True))

    mail.send_mail("Hi", "x", None, ["nobody@example.com"], html_message="<p>x</p>")
    mail_id = CapturedMail.objects.get().pk

    for url in (LIST_URL, detail_url(mail_id), html_url(mail_id)):
        assert client.post(url).status_code == 405
        assert "no-store" in client.get(url)["Cache-Control"]


@pytest.mark.django_db
def test_bcc_is_shown_to_staff_only(client: Client, make_user: MakeUser) -> None:
    alice = make_user("alice")
    mail.EmailMessage("Hi", "x", None, [alice.email], bcc=["hidden@example.com"]).send()
    url = detail_url(only_mail_to(alice.email).pk)

    assert b"hidden@example.com" not in logged_in(client, alice).get(url).content
    client.force_login(make_user("root", is_staff=True))
    assert b"hidden@example.com" in client.get(url).content


# --- How mail is shown ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_hostile_subject_and_bodies_are_shown_as_text(client: Client, make_user: MakeUser) -> None:
    alice = make_user("alice")
    message = EmailMultiAlternatives(
        subject="<script>alert(1)</script>",
        body='<script>alert(2)</script><img src=x onerror="alert(3)">',
        to=[alice.email],
    )
    message.attach_alternative('<script>alert(4)</script>"><img src=x onerror=alert(5)>', "text/html")
    message.send()
    logged_in(client, alice)

    listing = client.get(LIST_URL).content.decode()
    page = client.get(detail_url(CapturedMail.objects.get().pk))
    detail = page.content.decode()

    for html in (listing, detail):
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
        assert "<script>" not in html
    assert "&lt;script&gt;alert(2)&lt;/script&gt;&lt;img src=x onerror=&quot;alert(3)&quot;&gt;" in detail
    assert "<img src=x" not in detail
    assert "alert(4)" not in detail
    # The HTML body is only in its own document, framed in a sandbox that runs no script...
    [frame] = tags(page, "iframe")
    assert frame["src"] == html_url(CapturedMail.objects.get().pk)
    assert frame["sandbox"] is not None
    assert "allow-scripts" not in frame["sandbox"]
    assert "allow-same-origin" not in frame["sandbox"]
    # ...and that document, even opened on its own, gets a policy that runs no script at all.
    document = client.get(frame["src"])
    assert document.content == b'<base target="_blank"><script>alert(4)</script>"><img src=x onerror=alert(5)>'
    assert document["Content-Type"] == "text/html; charset=utf-8"
    policy = dict(directive.split(" ", 1) for directive in document["Content-Security-Policy"].split("; "))
    assert policy["default-src"] == "'none'"
    assert "script-src" not in policy
    assert policy["style-src"] == "'unsafe-inline'"  # mail is written with inline styles
    assert policy["sandbox"] == "allow-popups allow-popups-to-escape-sandbox"
    assert policy["frame-ancestors"] == "'self'"
    assert document["X-Frame-Options"] == "SAMEORIGIN"
    assert document["Referrer-Policy"] == "no-referrer"


@pytest.mark.django_db
def test_links_in_the_text_body_are_clickable(client: Client, make_user: MakeUser) -> None:
    alice = make_user("alice")
    body = "Welcome!\n\nConfirm: https://tweethub.example/accounts/verify/abc.DEF_123/?a=1&b=2\n"
    mail.send_mail("Confirm your address", body, None, [alice.email])
    logged_in(client, alice)

    response = client.get(detail_url(CapturedMail.objects.get().pk))

    hrefs = [a["href"] for a in tags(response, "a")]
    assert "https://tweethub.example/accounts/verify/abc.DEF_123/?a=1&b=2" in hrefs
    assert tags(response, "iframe") == []  # no HTML body, no frame
    assert client.get(html_url(CapturedMail.objects.get().pk)).status_code == 404


@pytest.mark.django_db
def test_detail_shows_the_envelope_and_headers(client: Client, make_user: MakeUser) -> None:
    alice = make_user("alice")
    mail.EmailMessage(
        "Hello",
        "Body",
        "TweetHub <hi@tweethub.example>",
        [alice.email],
        cc=["cc@example.com"],
        headers={"X-Kind": "welcome"},
    ).send()
    stored = CapturedMail.objects.get()
    logged_in(client, alice)

    content = client.get(detail_url(stored.pk)).content.decode()

    for expected in (
        "TweetHub &lt;hi@tweethub.example&gt;",
        alice.email,
        "cc@example.com",
        "X-Kind",
        "welcome",
        stored.headers["Message-ID"].replace("<", "&lt;").replace(">", "&gt;"),
        f'datetime="{stored.created_at.isoformat()}"',
        "@alice",
    ):
        assert expected in content


# --- Paging and cost -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_list_pages_with_a_cursor(client: Client, make_user: MakeUser) -> None:
    client.force_login(make_user("root", is_staff=True))
    total = MAILS_PER_PAGE + 5
    mail.send_mass_mail([(f"Mail {n}", "x", None, ["a@example.com"]) for n in range(total)])
    newest_first = [detail_url(pk) for pk in CapturedMail.objects.values_list("pk", flat=True)]

    first = client.get(LIST_URL)
    assert detail_links(first) == newest_first[:MAILS_PER_PAGE]
    [older] = [a["href"] for a in tags(first, "a") if a.get("rel") == "next"]

    second = client.get(LIST_URL + (older or ""))
    assert second.status_code == 200
    assert detail_links(second) == newest_first[MAILS_PER_PAGE:]
    assert [a for a in tags(second, "a") if a.get("rel") == "next"] == []


@pytest.mark.django_db
@pytest.mark.parametrize("cursor", ["abc", "-1", "0", "1.5", "١٢", "99999999999999999999999"])
def test_a_malformed_cursor_is_a_bad_request(client: Client, make_user: MakeUser, cursor: str) -> None:
    client.force_login(make_user("root", is_staff=True))
    mail.send_mail("Hi", "x", None, ["a@example.com"])

    assert client.get(LIST_URL, {"before": cursor}).status_code == 400


@pytest.mark.django_db
@pytest.mark.parametrize("mails", [1, 30])
def test_the_list_costs_the_same_queries_for_1_or_30_mails(
    client: Client,
    make_user: MakeUser,
    django_assert_max_num_queries: DjangoAssertNumQueries,
    mails: int,
) -> None:
    alice, bob = make_user("alice"), make_user("bob")
    for n in range(mails):
        mail.send_mail(f"Mail {n}", "x", None, [alice.email, bob.email])
    logged_in(client, alice)

    # + the nav's unread badges, on the page that fills their cache (one query: issue 21).
    with django_assert_max_num_queries(4):
        response = client.get(LIST_URL)

    assert len(detail_links(response)) == mails
    assert response.content.count(b">@bob</a>") == mails


@pytest.mark.django_db
def test_the_to_filter_keeps_its_value_and_links_back(client: Client, make_user: MakeUser) -> None:
    alice, bob = make_user("alice"), make_user("bob")
    mail.send_mail("For alice", "x", None, [alice.email])
    mail.send_mail("For bob", "x", None, [bob.email])
    client.force_login(make_user("root", is_staff=True))

    response = client.get(LIST_URL, {"to": "alice"})

    assert detail_links(response) == [detail_url(only_mail_to(alice.email).pk)]
    assert b"Showing mail sent to <strong>@alice</strong>" in response.content
