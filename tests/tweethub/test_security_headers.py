"""Security headers (issue 9): every page carries the Content-Security-Policy, nosniff, the
Referrer-Policy and clickjacking protection; with HTTPS=1, HSTS and Secure cookies."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest
from django.conf import settings
from django.core import mail
from django.test import Client, override_settings

import tweethub
from accounts.models import User
from mailcatcher.models import CapturedMail
from tests.factories import PASSWORD, make_user
from tweethub import settings as settings_module
from tweets.models import Tweet

pytestmark = pytest.mark.django_db


def _policy(header: str) -> dict[str, list[str]]:
    directives = [directive.split() for directive in header.split(";") if directive.strip()]
    return {name: sources for name, *sources in directives}


@pytest.fixture
def alice() -> User:
    return make_user("alice", is_staff=True)  # staff: the admin panel and every captured mail


@pytest.fixture
def site_pages(alice: User) -> list[str]:
    tweet = Tweet.objects.create(author=alice, text="Hello #world")
    mail.send_mail("Welcome", "Hi", None, [alice.email], html_message="<p style='color: red'>Hi</p>")
    mail_id = CapturedMail.objects.get().pk
    return [
        "/",
        "/accounts/login/",
        "/accounts/signup/",
        f"/@{alice.username}/",
        f"/tweets/{tweet.pk}/",
        "/tags/world/",
        "/admin/",
        "/admin/mails/",
        f"/admin/mails/{mail_id}/",
        "/no-such-page/",
    ]


def _assert_site_headers(client: Client, url: str) -> None:
    response = client.get(url)
    assert response.status_code in (200, 302, 404), url  # logged in, /accounts/signup/ redirects
    assert response["Content-Security-Policy"] == settings.CONTENT_SECURITY_POLICY, url
    assert response["X-Content-Type-Options"] == "nosniff", url
    assert response["Referrer-Policy"] == "same-origin", url
    assert response["X-Frame-Options"] == "DENY", url


def test_the_policy_allows_no_inline_script_or_style() -> None:
    policy = _policy(settings.CONTENT_SECURITY_POLICY)

    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["base-uri"] == ["'self'"]
    assert policy["form-action"] == ["'self'"]
    for sources in policy.values():
        assert "'unsafe-inline'" not in sources
        assert "'unsafe-eval'" not in sources


def test_every_page_has_the_headers_for_a_visitor(client: Client, site_pages: list[str]) -> None:
    for url in site_pages:
        _assert_site_headers(client, url)


def test_every_page_has_the_headers_when_logged_in(client: Client, alice: User, site_pages: list[str]) -> None:
    client.force_login(alice)
    for url in [*site_pages, "/settings/profile/", "/messages/", "/discover/", "/search/?q=hello"]:
        _assert_site_headers(client, url)


def test_static_files_have_the_policy_too(client: Client) -> None:
    response = client.get("/static/css/site.css")

    assert response.status_code == 200
    assert response["Content-Security-Policy"] == settings.CONTENT_SECURITY_POLICY
    assert response["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("debug", [True, False])
def test_error_pages_have_the_policy_in_every_mode(client: Client, settings: Any, debug: bool) -> None:
    """With DEBUG on too the 404 is the site's own page (issue 16), which needs no inline style."""
    settings.DEBUG = debug

    response = client.get("/no-such-page/")

    assert response.status_code == 404
    assert response["Content-Security-Policy"] == settings.CONTENT_SECURITY_POLICY


# --- HTTPS=1 ----------------------------------------------------------------------------------

_HTTPS_SETTINGS = (
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
    "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD",
    "SECURE_PROXY_SSL_HEADER",
)


def _settings_with_env(monkeypatch: pytest.MonkeyPatch, **env: str) -> ModuleType:
    """A fresh copy of the tweethub.settings package, every section of it evaluated with `env`
    (Django's settings stay as they are: the modules it loaded are put back afterwards)."""
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    for name in [name for name in sys.modules if name == "tweethub.settings" or name.startswith("tweethub.settings.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setattr(tweethub, "settings", settings_module)  # the import rebinds it: restored after the test
    return importlib.import_module("tweethub.settings")


@pytest.fixture
def https_client(monkeypatch: pytest.MonkeyPatch) -> Iterator[Client]:
    """A client of the site configured as production is: HTTPS=1 behind a proxy sending
    X-Forwarded-Proto."""
    monkeypatch.delenv("SECURE_SSL_REDIRECT", raising=False)
    monkeypatch.delenv("HSTS_PRELOAD", raising=False)
    production = _settings_with_env(monkeypatch, HTTPS="1")
    with override_settings(**{name: getattr(production, name) for name in _HTTPS_SETTINGS}):
        yield Client(headers={"X-Forwarded-Proto": "https"})


def test_https_settings_send_hsts_and_secure_cookies(https_client: Client, alice: User) -> None:
    form = https_client.get("/accounts/login/")

    assert form.status_code == 200
    assert form["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    assert form["Content-Security-Policy"] == settings.CONTENT_SECURITY_POLICY
    assert form.cookies["csrftoken"]["secure"] is True

    login = https_client.post("/accounts/login/", {"username": "alice", "password": PASSWORD})

    assert login.status_code == 302
    session = login.cookies[settings.SESSION_COOKIE_NAME]
    assert session["secure"] is True
    assert session["httponly"] is True
    assert login["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"


def test_https_settings_redirect_plain_http(https_client: Client) -> None:
    response = https_client.get("/accounts/login/", headers={"X-Forwarded-Proto": "http"})

    assert response.status_code == 301
    assert response["Location"] == "https://testserver/accounts/login/"


def test_without_https_nothing_claims_https(monkeypatch: pytest.MonkeyPatch) -> None:
    """Plain HTTP (local runs, tests): no HSTS, no Secure cookies a browser would then drop."""
    development = _settings_with_env(monkeypatch, HTTPS="0")

    assert development.SECURE_HSTS_SECONDS == 0
    assert development.SESSION_COOKIE_SECURE is False
    assert development.CSRF_COOKIE_SECURE is False
    assert development.SECURE_SSL_REDIRECT is False
