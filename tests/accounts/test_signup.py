"""Sign-up: field rules, case-insensitive uniqueness, atomic user + mail, verification links."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.test import Client

from accounts import services
from accounts.models import User
from mailcatcher.models import CapturedMail
from tests.factories import make_user

GOOD = {
    "name": "Alice Liddell",
    "username": "alice",
    "email": "Alice@Example.com",
    "password1": "a-long-and-unusual-passphrase",
    "password2": "a-long-and-unusual-passphrase",
}


def _signup(client: Client, **overrides: str) -> Any:
    return client.post("/accounts/signup/", {**GOOD, **overrides})


@pytest.mark.django_db
def test_signup_creates_unverified_user_logs_in_and_captures_one_mail(client: Client) -> None:
    response = _signup(client)

    assert response.status_code == 302
    assert response["Location"] == "/accounts/verify/sent/"
    user = User.objects.get()
    assert (user.username, user.name, user.email) == ("alice", "Alice Liddell", "Alice@example.com")
    assert user.verified_at is None
    assert user.check_password(GOOD["password1"])
    assert client.get("/accounts/verify/sent/").context["user"] == user  # logged in

    mail = CapturedMail.objects.get()
    assert mail.to == ["Alice@example.com"]
    assert list(mail.recipients.all()) == [user]
    assert "/accounts/verify/" in mail.text_body
    assert "http://testserver/accounts/verify/" in mail.text_body


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
        ({"password1": "short", "password2": "short"}, "password1", "too short"),
        ({"password1": "alice-liddell", "password2": "alice-liddell"}, "password1", "too similar"),
        (
            {"password1": "12345678901234", "password2": "12345678901234"},
            "password1",
            "entirely numeric",
        ),
        ({"password2": "something-else-entirely"}, "password2", "do not match"),
    ],
)
def test_bad_input_is_refused_beside_the_field_and_changes_nothing(
    client: Client, overrides: dict[str, str], field: str, message: str
) -> None:
    response = _signup(client, **overrides)

    assert response.status_code == 400
    errors = response.context["form"].errors
    assert field in errors, errors
    assert message in " ".join(errors[field])
    assert message.split()[0] in response.content.decode()
    assert not User.objects.exists()
    assert not CapturedMail.objects.exists()


@pytest.mark.django_db
def test_username_and_email_are_unique_case_insensitively(client: Client) -> None:
    make_user("Alice", email="alice@example.com")

    taken_name = _signup(client, username="aLiCe", email="other@example.com")
    taken_mail = _signup(client, username="alice2", email="ALICE@EXAMPLE.COM")

    assert "That username is taken." in taken_name.context["form"].errors["username"]
    assert "already exists" in " ".join(taken_mail.context["form"].errors["email"])
    assert User.objects.count() == 1


@pytest.mark.django_db
def test_database_enforces_case_insensitive_uniqueness() -> None:
    make_user("Bob", email="bob@example.com")
    with pytest.raises(IntegrityError), transaction.atomic():
        make_user("bob", email="bob2@example.com")
    with pytest.raises(IntegrityError), transaction.atomic():
        make_user("bobby", email="BOB@example.com")


@pytest.mark.django_db
def test_csrf_token_is_required(db: None) -> None:
    response = Client(enforce_csrf_checks=True).post("/accounts/signup/", GOOD)
    assert response.status_code == 403
    assert b"This form has expired" in response.content
    assert not User.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_no_user_without_its_mail() -> None:
    """If storing the mail fails, the user is rolled back with it (a real failing INSERT)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            CREATE FUNCTION refuse_mail() RETURNS trigger LANGUAGE plpgsql AS
              $$ BEGIN RAISE EXCEPTION 'mail store down'; END $$;
            CREATE TRIGGER refuse_mail BEFORE INSERT ON mailcatcher_capturedmail
              FOR EACH ROW EXECUTE FUNCTION refuse_mail();
            """
        )
    try:
        with pytest.raises(Exception, match="mail store down"):
            services.user_sign_up(
                name="Carol", username="carol", email="carol@example.com",
                password="a-long-and-unusual-passphrase", ip="10.0.0.1", base_url="http://x/",
            )  # fmt: skip
        assert not User.objects.filter(username="carol").exists()
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP TRIGGER refuse_mail ON mailcatcher_capturedmail; DROP FUNCTION refuse_mail();")


@pytest.mark.django_db(transaction=True)
def test_racing_signups_for_one_username_make_one_user_and_one_mail() -> None:
    """Both pass validation before either inserts; the unique index decides, cleanly."""
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def attempt(email: str) -> None:
        barrier.wait()
        try:
            with transaction.atomic():
                services.user_sign_up(
                    name="Dup", username="Dupe", email=email, password="a-long-and-unusual-passphrase",
                    ip="10.0.0.2", base_url="http://x/",
                )  # fmt: skip
                # Keep the transaction open so the other insert has to wait on the unique index.
                time.sleep(0.3)
            outcomes.append("created")
        except ValidationError as error:
            outcomes.append(" ".join(error.message_dict.get("username", [])))
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt, args=(f"dupe{i}@example.com",)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["That username is taken.", "created"]
    assert User.objects.filter(username__iexact="dupe").count() == 1
    assert CapturedMail.objects.count() == 1


# --- Verification ---------------------------------------------------------------------------------


def _link_in_mail() -> str:
    body = CapturedMail.objects.latest("created_at").text_body
    return next(word for word in body.split() if "/accounts/verify/" in word).replace("http://testserver", "")


@pytest.mark.django_db
def test_verification_link_verifies_once_and_is_idempotent(client: Client) -> None:
    _signup(client)
    link = _link_in_mail()

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
def test_tampered_and_expired_links_are_refused(client: Client) -> None:
    user = make_user("dora", verified=False)
    token = services.verification_token(user)

    tampered = client.get(f"/accounts/verify/{token[:-2]}xx/")
    assert tampered.status_code == 400
    assert b"not valid" in tampered.content

    # A token signed four days ago (the limit is three), made with Django's own signer.
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
