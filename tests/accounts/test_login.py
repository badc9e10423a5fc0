"""Login with username or email, logout by POST, password change and reset, rate limits."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client
from django.test.utils import override_settings

from accounts.models import User
from mailcatcher.models import CapturedMail
from tests.factories import PASSWORD, make_user


def _login(client: Client, username: str, password: str = PASSWORD, **extra: str) -> object:
    return client.post("/accounts/login/", {"username": username, "password": password, **extra})


def _logged_in_as(client: Client) -> int | None:
    user_id = client.session.get("_auth_user_id")
    return int(user_id) if user_id else None


@pytest.mark.django_db
@pytest.mark.parametrize("identifier", ["Ivy", "ivy", "IVY", "ivy@example.com", "IVY@Example.COM", " ivy "])
def test_login_with_username_or_email_in_any_case(client: Client, identifier: str) -> None:
    ivy = make_user("Ivy", email="ivy@example.com")
    response = _login(client, identifier)
    assert response.status_code == 302  # type: ignore[attr-defined]
    assert _logged_in_as(client) == ivy.pk


@pytest.mark.django_db
def test_wrong_password_or_unknown_user_is_a_clear_error(client: Client) -> None:
    make_user("jack")
    for username, password in [("jack", "wrong"), ("nobody", PASSWORD), ("", "")]:
        response = _login(client, username, password)
        assert response.status_code == 400  # type: ignore[attr-defined]
        assert _logged_in_as(client) is None
    wrong = _login(client, "jack", "wrong").content.decode()  # type: ignore[attr-defined]
    assert "do not match an account" in wrong


@pytest.mark.django_db
def test_inactive_users_cannot_log_in(client: Client) -> None:
    make_user("kate", is_active=False)
    assert _login(client, "kate").status_code == 400  # type: ignore[attr-defined]


@pytest.mark.django_db
def test_next_is_followed_only_on_this_site(client: Client) -> None:
    make_user("liam")
    assert _login(client, "liam", next="/settings/profile/")["Location"] == "/settings/profile/"  # type: ignore[index]
    client.logout()
    assert _login(client, "liam", next="https://evil.example/")["Location"] == "/"  # type: ignore[index]


@pytest.mark.django_db
def test_logout_is_post_only(client: Client) -> None:
    mia = make_user("mia")
    _login(client, "mia")
    assert client.get("/accounts/logout/").status_code == 405
    assert _logged_in_as(client) == mia.pk

    response = client.post("/accounts/logout/")
    assert response.status_code == 302
    assert _logged_in_as(client) is None
    # Mail access ends with the session too: tests/mailcatcher/test_shared_browser.py.


@pytest.mark.django_db
def test_logout_needs_csrf(db: None) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(make_user("ned"))
    assert client.post("/accounts/logout/").status_code == 403
    assert _logged_in_as(client) is not None


@pytest.mark.django_db
@override_settings(RATE_LIMIT_LOGIN_PER_ACCOUNT="3/10m")
def test_login_attempts_per_account_are_limited(client: Client) -> None:
    make_user("olga", email="olga@example.com")
    for _ in range(3):
        _login(client, "olga", "wrong")
    # Over the limit from this address even with the right password, and also when named by email.
    blocked = _login(client, "OLGA@example.com")
    assert blocked.status_code == 429  # type: ignore[attr-defined]
    assert int(blocked["Retry-After"]) > 0  # type: ignore[index]
    assert b"Too many failed logins for this account" in blocked.content  # type: ignore[attr-defined]
    assert _logged_in_as(client) is None
    # Another account from the same client is unaffected.
    make_user("pete")
    assert _login(client, "pete").status_code == 302  # type: ignore[attr-defined]


@pytest.mark.django_db
@override_settings(RATE_LIMIT_LOGIN_PER_IP="4/10m", RATE_LIMIT_LOGIN_PER_ACCOUNT="100/10m")
def test_login_attempts_per_ip_are_limited(client: Client) -> None:
    for n in range(4):
        make_user(f"q{n}")
        _login(client, f"q{n}", "wrong")
    assert _login(client, "q0").status_code == 429  # type: ignore[attr-defined]
    other_ip = Client(REMOTE_ADDR="10.9.9.9")
    assert _login(other_ip, "q0").status_code == 302  # type: ignore[attr-defined]


@pytest.mark.django_db
@override_settings(RATE_LIMIT_SIGNUP_PER_IP="2/1h")
def test_signups_per_ip_are_limited(client: Client) -> None:
    for n in range(2):
        response = client.post(
            "/accounts/signup/",
            {"name": "R", "username": f"rick{n}", "email": f"rick{n}@example.com",
             "password1": "a-long-and-unusual-passphrase", "password2": "a-long-and-unusual-passphrase"},
        )  # fmt: skip
        assert response.status_code == 302
        client.post("/accounts/logout/")
    response = client.post(
        "/accounts/signup/",
        {"name": "R", "username": "rick9", "email": "rick9@example.com",
         "password1": "a-long-and-unusual-passphrase", "password2": "a-long-and-unusual-passphrase"},
    )  # fmt: skip
    assert response.status_code == 429
    assert b"Slow down" in response.content
    assert not User.objects.filter(username="rick9").exists()


@pytest.mark.django_db
@override_settings(RATE_LIMIT_VERIFY_RESEND_PER_USER="2/1h")
def test_verification_resends_per_user_are_limited(client: Client) -> None:
    client.force_login(make_user("sara", verified=False))
    assert client.post("/accounts/verify/resend/").status_code == 302
    assert client.post("/accounts/verify/resend/").status_code == 302
    assert client.post("/accounts/verify/resend/").status_code == 429
    assert CapturedMail.objects.count() == 2


@pytest.mark.django_db
def test_password_change(client: Client) -> None:
    tom = make_user("tom")
    client.force_login(tom)
    new = "another-long-passphrase-42"
    response = client.post(
        "/accounts/password/change/",
        {"old_password": PASSWORD, "new_password1": new, "new_password2": new},
    )
    assert response.status_code == 302
    tom.refresh_from_db()
    assert tom.check_password(new)
    assert _logged_in_as(client) == tom.pk  # the session survives its own password change

    bad = client.post(
        "/accounts/password/change/",
        {"old_password": "nope", "new_password1": new, "new_password2": new},
    )
    assert bad.status_code == 200
    assert "old password was entered incorrectly" in bad.content.decode()


@pytest.mark.django_db
@pytest.mark.usefixtures("eager_tasks")  # the worker sends the mail (tests/accounts/test_password_reset.py)
def test_password_reset_by_mail(client: Client, django_capture_on_commit_callbacks: Any) -> None:
    uma = make_user("uma", email="uma@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/accounts/password/reset/", {"email": "UMA@example.com"})
    assert response.status_code == 302

    mail = CapturedMail.objects.get()
    assert mail.to == ["uma@example.com"]
    assert list(mail.recipients.all()) == [uma]
    match = re.search(r"http://testserver(/accounts/password/reset/[^\s]+/)", mail.text_body)
    assert match, mail.text_body
    form_page = client.get(match.group(1), follow=True)
    new = "brand-new-passphrase-77"
    done = client.post(form_page.redirect_chain[-1][0], {"new_password1": new, "new_password2": new})
    assert done.status_code == 302
    uma.refresh_from_db()
    assert uma.check_password(new)


@pytest.mark.django_db
@override_settings(RATE_LIMIT_PASSWORD_RESET_PER_IP="2/1h")
@pytest.mark.usefixtures("eager_tasks")
def test_password_reset_requests_are_limited(client: Client, django_capture_on_commit_callbacks: Any) -> None:
    make_user("vic", email="vic@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(2):
            assert client.post("/accounts/password/reset/", {"email": "vic@example.com"}).status_code == 302
        assert client.post("/accounts/password/reset/", {"email": "vic@example.com"}).status_code == 429
    assert CapturedMail.objects.count() == 2


@pytest.mark.django_db
def test_pages_for_members_send_visitors_to_log_in(client: Client) -> None:
    response = client.get("/settings/profile/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/settings/profile/"
