"""A warm authenticated request: session and user from one Redis round trip, no SQL; and every
security property of Django's per-request user load kept (accounts.authcache, accounts.sessions)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth import HASH_SESSION_KEY
from django.test import Client
from django.test.utils import override_settings

from accounts import authcache
from accounts.models import User
from accounts.services import profile_update, user_delete
from mailcatcher.models import CapturedMail
from tests.factories import PASSWORD, make_user

DEAD_REDIS = "unix:///nonexistent/redis.sock"
PAGE = "/settings/profile/"
NEW_PASSWORD = "a-new-Passw0rd-nobody-guesses"


def _browser(user: User) -> Client:
    """A browser logged in through the login form (so its session carries the auth hash), its
    cached row filled and used once."""
    client = Client()
    assert client.post("/accounts/login/", {"username": user.username, "password": PASSWORD}).status_code == 302
    for _ in range(2):
        assert client.get(PAGE).status_code == 200
    return client


def _is_logged_in(client: Client) -> bool:
    response = client.get(PAGE)
    if response.status_code == 302:
        assert response["Location"].startswith("/accounts/login/")
        return False
    assert response.status_code == 200
    return True


def _row_cached(user: User) -> bool:
    return bool(authcache.cache().exists(f"au:{{{user.pk}}}"))


@pytest.mark.django_db
def test_a_warm_logged_in_page_costs_no_sql_and_one_redis_round_trip(
    django_assert_num_queries: Any, redis_round_trips: Any
) -> None:
    user = make_user("rita", name="Rita Warm")
    browser = _browser(user)
    redis_round_trips.clear()
    # No SQL for the session, the user or the nav's unread badges: all three come in the one
    # round trip (the badges' counts are cached beside the row: tweethub.badges).
    with django_assert_num_queries(0):
        response = browser.get(PAGE)
    assert response.status_code == 200
    assert "Rita Warm" in response.content.decode()
    assert redis_round_trips.count == 1, redis_round_trips.sent


@pytest.mark.django_db
def test_a_cold_row_is_read_once_from_postgres_then_cached(django_assert_num_queries: Any) -> None:
    user = make_user("sam")
    browser = _browser(user)
    authcache.forget(user_ids=[user.pk])
    with django_assert_num_queries(1):  # the user row, as Django loads it (the badges stay cached)
        assert browser.get(PAGE).status_code == 200
    assert _row_cached(user)
    assert 0 < authcache.cache().ttl(f"au:{{{user.pk}}}") <= settings.AUTH_USER_CACHE_SECONDS
    raw = authcache.cache().get(f"au:{{{user.pk}}}")
    assert raw is not None
    assert User.objects.get(pk=user.pk).password.encode() not in raw  # never the password hash
    with django_assert_num_queries(0):
        assert browser.get(PAGE).status_code == 200


@pytest.mark.django_db
def test_password_change_logs_out_the_other_sessions_and_keeps_this_one() -> None:
    user = make_user("tara")
    here, elsewhere = _browser(user), _browser(user)
    assert _row_cached(user)

    response = here.post(
        "/accounts/password/change/",
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.status_code == 302
    assert _is_logged_in(here)  # refills the row, with the new hash
    assert _row_cached(user)
    assert not _is_logged_in(elsewhere)  # the old hash no longer matches the cached row
    assert User.objects.get(pk=user.pk).check_password(NEW_PASSWORD)


@pytest.mark.django_db
@pytest.mark.usefixtures("eager_tasks")  # the worker sends the reset mail
def test_password_reset_logs_out_every_session(client: Client, django_capture_on_commit_callbacks: Any) -> None:
    user = make_user("uma")
    browser = _browser(user)
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post("/accounts/password/reset/", {"email": user.email}).status_code == 302
    mail = CapturedMail.objects.get()
    match = re.search(r"http://testserver(/accounts/password/reset/[^\s]+/)", mail.text_body)
    assert match, mail.text_body
    path = match.group(1)
    form = client.get(path, follow=True)
    assert form.status_code == 200
    done = client.post(form.redirect_chain[-1][0], {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert done.status_code == 302
    assert not _is_logged_in(browser)


@pytest.mark.django_db
def test_logout_ends_the_session_even_with_the_row_warm() -> None:
    user = make_user("vera")
    browser = _browser(user)
    stolen = Client()
    stolen.cookies[settings.SESSION_COOKIE_NAME] = browser.cookies[settings.SESSION_COOKIE_NAME].value
    assert _is_logged_in(stolen)  # the same session, from another machine
    assert browser.post("/accounts/logout/").status_code == 302
    assert _row_cached(user)  # the user's row stays warm for their other sessions
    assert not _is_logged_in(stolen)


@pytest.mark.django_db
def test_a_deactivated_user_is_logged_out_after_the_documented_invalidation() -> None:
    user = make_user("wendy")
    browser = _browser(user)
    User.objects.filter(pk=user.pk).update(is_active=False)
    authcache.forget(user_ids=[user.pk])
    assert not _is_logged_in(browser)
    assert not _row_cached(user)  # an inactive user is never cached


@pytest.mark.django_db
def test_a_deleted_user_is_logged_out(django_capture_on_commit_callbacks: Any) -> None:
    user = make_user("xena")
    browser = _browser(user)
    with django_capture_on_commit_callbacks(execute=True):
        user_delete(user=User.objects.get(pk=user.pk))
    assert not _is_logged_in(browser)


@pytest.mark.django_db
def test_a_session_with_a_forged_or_old_auth_hash_is_refused_and_flushed() -> None:
    user = make_user("yara")
    browser = _browser(user)
    session = browser.session
    session[HASH_SESSION_KEY] = "0" * 64
    session.save()
    assert _row_cached(user)
    assert not _is_logged_in(browser)
    from django.contrib.sessions.models import Session

    assert not Session.objects.filter(session_key=session.session_key).exists()


@pytest.mark.django_db
def test_a_profile_change_shows_on_the_next_page(django_capture_on_commit_callbacks: Any) -> None:
    user = make_user("zoe", name="Zoe Before")
    browser = _browser(user)
    with django_capture_on_commit_callbacks(execute=True):
        profile_update(user=User.objects.get(pk=user.pk), name="Zoe After", bio="", location="", website="")
    page = browser.get(PAGE).content.decode()
    assert "Zoe After" in page
    assert "Zoe Before" not in page


@pytest.mark.django_db
def test_a_fill_that_read_postgres_before_an_invalidation_is_refused() -> None:
    """The race a plain cache loses: a request reads the old row, the change commits and
    invalidates, then the request writes the old row (old auth hash) back."""
    user = make_user("abe")
    _browser(user)
    authcache.forget(user_ids=[user.pk])
    seen = authcache.cache().get(f"aug:{{{user.pk}}}")
    assert isinstance(seen, bytes)
    old_row = User.objects.get(pk=user.pk)  # read before the change below commits
    authcache.forget(user_ids=[user.pk])  # the change's invalidation
    assert authcache.store(user=old_row, generation=seen.decode()) is False
    assert not _row_cached(user)
    current = authcache.cache().get(f"aug:{{{user.pk}}}")
    assert isinstance(current, bytes)
    assert authcache.store(user=old_row, generation=current.decode()) is True


@pytest.mark.django_db
def test_a_cached_user_saved_whole_never_touches_the_password() -> None:
    """request.user built from the cache defers the columns it lacks: a full save() writes only
    the cached ones (never an empty password), and reading the password loads it from Postgres."""
    user = make_user("bea")
    _browser(user)
    raw = authcache.cache().get(f"au:{{{user.pk}}}")
    assert raw is not None
    cached = authcache.decode_row(raw)
    assert cached is not None
    built = cached.build()
    built.name = "Bea Renamed"
    built.save()
    stored = User.objects.get(pk=user.pk)
    assert stored.name == "Bea Renamed"
    assert stored.check_password(PASSWORD)
    assert built.check_password(PASSWORD)


@pytest.mark.django_db
def test_redis_down_still_serves_logged_in_pages_from_postgres() -> None:
    user = make_user("cleo", name="Cleo Down")
    browser = _browser(user)
    with override_settings(CACHE_REDIS_URL=DEAD_REDIS):
        response = browser.get(PAGE)
        assert response.status_code == 200
        assert "Cleo Down" in response.content.decode()


@pytest.mark.django_db
def test_a_row_cached_under_another_secret_key_is_not_trusted() -> None:
    user = make_user("dora")
    browser = _browser(user)
    with override_settings(SECRET_KEY="another-secret-key-" + "x" * 40):
        # The session's hash was made with the old key: Django refuses it, as it would without the
        # cache, instead of the cached row (made with the old key too) accepting it.
        assert not _is_logged_in(browser)
