"""Sign-up in two steps: name, username and address first, the same answer whether the address is
free or taken (issue 17, item 9); then the password, chosen from the mailed link, which creates the
account, verified. Plus the older verification links of accounts created unverified."""

from __future__ import annotations

import re
import statistics
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from pytest_django import Settings

from accounts import services
from accounts.models import User
from mailcatcher.access import session_grants
from mailcatcher.models import CapturedMail
from tests.factories import make_user
from tweethub.models import OutboxTask

GOOD = {"name": "Alice Liddell", "username": "alice", "email": "Alice@Example.com"}
PASSPHRASE = "a-long-and-unusual-passphrase"
FINISH_LINK = re.compile(r"http://testserver(/accounts/signup/[^/\s]+/)")
OnCommit = Callable[..., Any]


def _signup(client: Client, **overrides: str) -> Any:
    return client.post("/accounts/signup/", {**GOOD, **overrides})


@pytest.fixture
def signed_up(django_capture_on_commit_callbacks: OnCommit, eager_tasks: None) -> Callable[..., Any]:
    """A sign-up request followed by what the worker does for it: its commit callbacks run as a
    commit would run them, and the task they queue runs inline."""

    def sign_up(client: Client, **overrides: str) -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            return _signup(client, **overrides)

    return sign_up


def _finish_link(address: str) -> str:
    mail = CapturedMail.objects.get(to=[address], subject="Finish creating your TweetHub account")
    match = FINISH_LINK.search(mail.text_body)
    assert match, mail.text_body
    assert match.group(0) in mail.html_body
    return match.group(1)


def _finish(client: Client, link: str, password: str = PASSPHRASE) -> Any:
    return client.post(link, {"password1": password, "password2": password})


# --- Step one: the same answer for a free and a taken address --------------------------------------


def _shape(sql: str) -> str:
    """A statement with its values blanked out: what was asked, not about whom."""
    sql = re.sub(r"'(?:[^']|'')*'", "?", sql)
    sql = re.sub(r'"s\d+_x\d+"', "<savepoint>", sql)
    return re.sub(r"\b\d+\b", "N", sql)


@pytest.mark.django_db
def test_a_free_and_a_taken_address_get_the_same_answer_run_the_same_queries_and_queue_the_same_task(
    settings: Settings,
) -> None:
    settings.RATE_LIMIT_SIGNUP_PER_IP = "1000000/1m"
    make_user("owner", email="taken@example.com")
    addresses = {"free": "free@example.com", "taken": "TAKEN@example.com"}
    statements: dict[str, list[list[str]]] = {"free": [], "taken": []}
    timings: dict[str, list[float]] = {"free": [], "taken": []}
    pages: dict[str, list[str]] = {"free": [], "taken": []}
    for n in range(31):
        for kind, address in addresses.items():
            client = Client()
            with CaptureQueriesContext(connection) as queries:
                started = time.perf_counter()
                response = _signup(client, username=f"{kind}{n}", email=address)
                elapsed = time.perf_counter() - started
            assert response.status_code == 302, response.content.decode()[:500]
            assert response["Location"] == "/accounts/verify/sent/"
            statements[kind].append([_shape(query["sql"]) for query in queries.captured_queries])
            page = client.get(response["Location"]).content.decode()
            pages[kind].append(page.replace(address, "<address>").replace(f"{kind}{n}", "<username>"))
            if n:  # the first round warms both paths up
                timings[kind].append(elapsed)
    free_ms, taken_ms = (statistics.median(timings[kind]) * 1000 for kind in ("free", "taken"))
    # Printed, never asserted: wall-clock time depends on the machine (see pytest -s).
    print(  # noqa: T201
        f"\nsign-up request, median of 30: free address {free_ms:.2f} ms, taken address {taken_ms:.2f} ms, "
        f"ratio {taken_ms / free_ms:.2f}"
    )

    assert statements["free"] == statements["taken"]
    assert pages["free"] == pages["taken"]
    assert "Check your email" in pages["free"][0]
    assert "<address>" in pages["free"][0]
    # Nothing created in either case; one task each, the same one.
    assert list(User.objects.values_list("username", flat=True)) == ["owner"]
    assert set(OutboxTask.objects.values_list("task", flat=True)) == {"accounts.tasks.signup_mail_task"}
    assert OutboxTask.objects.count() == 62
    assert not CapturedMail.objects.exists()


@pytest.mark.django_db
def test_a_taken_username_is_said_a_taken_address_is_not(client: Client) -> None:
    make_user("Alice", email="alice@example.com")

    taken_name = _signup(client, username="aLiCe", email="other@example.com")
    taken_mail = _signup(client, username="alice2", email="ALICE@EXAMPLE.COM")

    assert taken_name.status_code == 400
    assert "That username is taken." in taken_name.context["form"].errors["username"]
    assert taken_mail.status_code == 302
    assert taken_mail["Location"] == "/accounts/verify/sent/"
    assert User.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"username": ""}, "username", "This field is required."),
        ({"username": "a" * 16}, "username", "at most 15 characters"),
        ({"username": "bad-name"}, "username", "letters (A-Z), digits or underscores"),
        ({"username": "émile"}, "username", "letters (A-Z), digits or underscores"),
        ({"username": "Admin"}, "username", "reserved"),
        ({"username": "SETTINGS"}, "username", "reserved"),
        ({"name": ""}, "name", "This field is required."),
        ({"name": "n" * 51}, "name", "at most 50 characters"),
        ({"email": "not-an-email"}, "email", "valid email"),
    ],
)
def test_bad_input_is_refused_beside_the_field_and_queues_nothing(
    client: Client, overrides: dict[str, str], field: str, message: str
) -> None:
    response = _signup(client, **overrides)

    assert response.status_code == 400
    errors = response.context["form"].errors
    assert field in errors, errors
    assert message in " ".join(errors[field])
    assert message.split()[0] in response.content.decode()
    assert not OutboxTask.objects.exists()
    assert not User.objects.exists()


@pytest.mark.django_db
def test_csrf_token_is_required(db: None) -> None:
    response = Client(enforce_csrf_checks=True).post("/accounts/signup/", GOOD)
    assert response.status_code == 403
    assert b"This form has expired" in response.content
    assert not OutboxTask.objects.exists()


@pytest.mark.django_db
def test_the_check_your_mail_page_needs_a_sign_up_first(client: Client) -> None:
    assert client.get("/accounts/verify/sent/")["Location"] == "/accounts/signup/"


# --- The worker: a link for a free address, a notice to the owner of a taken one -------------------


@pytest.mark.django_db
def test_a_free_address_gets_the_link_and_the_owner_of_a_taken_one_a_notice_without_it(
    client: Client, signed_up: Callable[..., Any]
) -> None:
    owner = make_user("owner", email="taken@example.com", name="Olive Owner")
    stranger = Client()
    assert signed_up(client).status_code == 302
    assert signed_up(stranger, username="squatter", email="Taken@Example.com").status_code == 302

    finish = CapturedMail.objects.get(to=["Alice@example.com"])
    assert finish.subject == "Finish creating your TweetHub account"
    assert "@alice" in finish.text_body
    assert list(finish.recipients.all()) == []  # no account has this address (yet)
    assert finish.session_grant in session_grants(client.session)
    notice = CapturedMail.objects.get(to=["taken@example.com"])
    assert notice.subject == "Someone tried to sign up to TweetHub with your address"
    assert "@owner" in notice.text_body
    assert "http://testserver/accounts/password/reset/" in notice.text_body
    assert not FINISH_LINK.search(notice.text_body + notice.html_body)
    assert list(notice.recipients.all()) == [owner]
    assert notice.session_grant == ""
    assert list(User.objects.values_list("username", flat=True)) == ["owner"]

    # Demo mode: each sign-up's browser reads its own link; nobody reads the owner's notice.
    mine = client.get("/admin/mails/").content.decode()
    assert f'href="/admin/mails/{finish.pk}/"' in mine
    assert f"/admin/mails/{notice.pk}/" not in mine
    assert stranger.get(f"/admin/mails/{notice.pk}/").status_code == 404
    assert stranger.get(f"/admin/mails/{finish.pk}/").status_code == 404
    assert "Choose my password" not in stranger.get("/admin/mails/").content.decode()
    # A grant ends with the session, like any other access to mail.
    client.post("/accounts/logout/")
    assert client.get(f"/admin/mails/{finish.pk}/").status_code == 404


# --- Step two: the link -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_link_creates_the_verified_account_once_and_logs_its_browser_in(
    client: Client, signed_up: Callable[..., Any]
) -> None:
    signed_up(client)
    link = _finish_link("Alice@example.com")

    form = client.get(link)
    assert form.status_code == 200
    assert "@alice" in form.content.decode()
    assert not User.objects.exists()  # opening the link changes nothing

    done = _finish(client, link)
    assert done.status_code == 302
    assert done["Location"] == "/accounts/verify/done/"
    user = User.objects.get()
    assert (user.username, user.name, user.email) == ("alice", "Alice Liddell", "Alice@example.com")
    assert user.verified_at is not None
    assert user.check_password(PASSPHRASE)
    assert client.session["_auth_user_id"] == str(user.pk)
    assert "your account is ready" in client.get("/accounts/verify/done/").content.decode()

    # The link again, from anywhere: no second account, no login.
    again = Client()
    reused = _finish(again, link, "another-long-passphrase-3")
    assert reused.status_code == 400
    assert "already exists" in reused.content.decode()
    assert "_auth_user_id" not in again.session
    assert User.objects.count() == 1
    assert User.objects.get().check_password(PASSPHRASE)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("password1", "password2", "message"),
    [
        ("short", "short", "too short"),
        ("alice-liddell", "alice-liddell", "too similar"),
        ("12345678901234", "12345678901234", "entirely numeric"),
        (PASSPHRASE, "something-else-entirely", "do not match"),
    ],
)
def test_the_password_rules_apply_on_the_last_step(
    client: Client, signed_up: Callable[..., Any], password1: str, password2: str, message: str
) -> None:
    signed_up(client)
    response = client.post(_finish_link("Alice@example.com"), {"password1": password1, "password2": password2})

    assert response.status_code == 400
    assert message in response.content.decode()
    assert not User.objects.exists()


@pytest.mark.django_db
def test_a_username_taken_before_the_link_is_used_is_refused_there(
    client: Client, signed_up: Callable[..., Any]
) -> None:
    signed_up(client)
    link = _finish_link("Alice@example.com")
    make_user("ALICE", email="first@example.com")

    response = _finish(client, link)

    assert response.status_code == 400
    assert "That username is taken." in response.content.decode()
    assert not User.objects.filter(email__iexact="alice@example.com").exists()


@pytest.mark.django_db
def test_tampered_expired_and_foreign_links_are_refused(client: Client) -> None:
    details = services.SignUpDetails(name="Bo", username="bo", email="bo@example.com")
    token = services.signup_token(details)

    tampered = client.get(f"/accounts/signup/{token[:-2]}xx/")
    assert tampered.status_code == 400
    assert b"not valid" in tampered.content

    class FourDaysAgo(signing.TimestampSigner):  # the limit is three
        def timestamp(self) -> str:
            return signing.b62_encode(int(time.time()) - 4 * 86400)

    old = FourDaysAgo(salt=services.SIGNUP_SALT).sign_object(
        {"n": "Bo", "u": "bo", "e": "bo@example.com"}, compress=True
    )
    expired = _finish(client, f"/accounts/signup/{old}/")
    assert expired.status_code == 400
    assert b"expired" in expired.content
    # A verification link of an existing account is signed for another purpose: no sign-up.
    foreign = services.verification_token(make_user("cy", verified=False))
    assert _finish(client, f"/accounts/signup/{foreign}/").status_code == 400
    assert not User.objects.filter(username="bo").exists()


@pytest.mark.django_db(transaction=True)
def test_racing_uses_of_two_links_for_one_username_make_one_account() -> None:
    """Both pass validation before either inserts; the unique index decides, cleanly."""
    tokens = [
        services.signup_token(services.SignUpDetails(name="Dup", username="Dupe", email=f"dupe{n}@example.com"))
        for n in range(2)
    ]
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def attempt(token: str) -> None:
        barrier.wait()
        try:
            with transaction.atomic():
                services.user_sign_up(token=token, password=PASSPHRASE)
                # Keep the transaction open so the other insert has to wait on the unique index.
                time.sleep(0.3)
            outcomes.append("created")
        except ValidationError as error:
            outcomes.append(" ".join(error.message_dict.get("username", [])))
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt, args=(token,)) for token in tokens]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["That username is taken.", "created"]
    assert User.objects.filter(username__iexact="dupe").count() == 1


@pytest.mark.django_db
def test_database_enforces_case_insensitive_uniqueness() -> None:
    make_user("Bob", email="bob@example.com")
    with pytest.raises(IntegrityError), transaction.atomic():
        make_user("bob", email="bob2@example.com")
    with pytest.raises(IntegrityError), transaction.atomic():
        make_user("bobby", email="BOB@example.com")


# --- Accounts created unverified (staff tools, older sign-ups): the verification link ------------------


def _verify_link() -> str:
    body = CapturedMail.objects.latest("created_at").text_body
    return next(word for word in body.split() if "/accounts/verify/" in word).replace("http://testserver", "")


@pytest.mark.django_db
def test_verification_link_verifies_once_and_is_idempotent(client: Client) -> None:
    client.force_login(make_user("vera", verified=False))
    client.post("/accounts/verify/resend/", {"next": "/"})
    link = _verify_link()

    first = client.get(link, follow=True)
    assert first.redirect_chain == [("/accounts/verify/done/", 302)]
    assert b"Email confirmed" in first.content
    assert b"your email address is confirmed" in first.content
    assert b"Confirm your email address" not in first.content  # the notice is gone at once
    verified_at = User.objects.get().verified_at
    assert verified_at is not None

    assert client.get(link).status_code == 302
    assert User.objects.get().verified_at == verified_at


@pytest.mark.django_db
def test_tampered_and_expired_verification_links_are_refused(client: Client) -> None:
    user = make_user("dora", verified=False)
    token = services.verification_token(user)

    tampered = client.get(f"/accounts/verify/{token[:-2]}xx/")
    assert tampered.status_code == 400
    assert b"not valid" in tampered.content

    class FourDaysAgo(signing.TimestampSigner):
        def timestamp(self) -> str:
            return signing.b62_encode(int(time.time()) - 4 * 86400)

    old = FourDaysAgo(salt=services.VERIFY_SALT).sign_object({"u": user.pk, "e": user.email.lower()}, compress=True)
    expired = client.get(f"/accounts/verify/{old}/")
    assert expired.status_code == 400
    assert b"expired" in expired.content
    user.refresh_from_db()
    assert user.verified_at is None


@pytest.mark.django_db
def test_link_for_an_old_address_stops_working() -> None:
    user = make_user("erin", verified=False)
    token = services.verification_token(user)
    User.objects.filter(pk=user.pk).update(email="new-erin@example.com")
    with pytest.raises(services.InvalidVerificationLink):
        services.user_verify_email(token=token)


@pytest.mark.django_db
def test_unverified_user_sees_the_notice_and_can_resend(client: Client) -> None:
    user = make_user("fred", verified=False)
    client.force_login(user)

    page = client.get("/").content.decode()
    assert "Confirm your email address" in page
    assert "fred@example.com" in page

    response = client.post("/accounts/verify/resend/", {"next": "/"})
    assert response.status_code == 302
    assert CapturedMail.objects.filter(to=["fred@example.com"]).count() == 1


def test_require_verified_guards_writes(db: None) -> None:
    with pytest.raises(services.NotVerified):
        services.require_verified(make_user("gina", verified=False))
    services.require_verified(make_user("hank", verified=True))
