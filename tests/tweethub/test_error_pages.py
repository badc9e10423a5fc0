"""The site's own error pages in every mode (issue 16): with DEBUG on too, no visitor gets Django's
technical pages (every route listed, tracebacks, inline styles the policy blocks)."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from django.test import Client

from accounts.models import User
from tests.factories import make_user
from tests.tweethub.error_urls import CANARY

pytestmark = pytest.mark.django_db

# What Django's technical 404 and 500 pages show, and our pages never may.
TECHNICAL = (
    "Using the URLconf",
    "Django tried these URL patterns",
    "livez",  # a route no page of ours links to
    "Traceback",
    "Request Method",
    "DEBUG = True",
    "SECRET_KEY",
    CANARY,
)


@pytest.fixture(params=[True, False], ids=["debug", "no-debug"])
def debug(request: pytest.FixtureRequest, settings: Any) -> bool:
    settings.DEBUG = request.param
    settings.ROOT_URLCONF = "tests.tweethub.error_urls"
    return bool(request.param)


@pytest.fixture
def visitor(debug: bool) -> Client:
    # A 500 must reach the page, not be raised into the test (the test client re-raises by default).
    return Client(raise_request_exception=False)


@pytest.fixture
def member(visitor: Client) -> User:
    user = make_user("ann")
    visitor.force_login(user)
    return user


def _assert_site_page(response: Any, status: int, heading: str) -> str:
    body: str = response.content.decode()
    assert response.status_code == status, body[:500]
    assert heading in body
    assert 'href="/static/css/site.css"' in body  # the site's styles: no inline style needed
    assert 'class="error-code"' in body
    for leak in TECHNICAL:
        assert leak not in body, leak
    assert "Content-Security-Policy" in response
    return body


def test_an_unknown_url_is_our_404_without_the_routes(visitor: Client) -> None:
    body = _assert_site_page(visitor.get("/no-such-page/"), 404, "We could not find that page")
    assert 'href="/accounts/login/"' in body  # the page has the site's header, for a way on


def test_a_member_gets_the_404_in_their_own_header(visitor: Client, member: User) -> None:
    body = _assert_site_page(visitor.get("/no/such/page/"), 404, "We could not find that page")
    assert 'href="/@ann/"' in body


def test_a_404_raised_by_a_view_is_our_404(visitor: Client) -> None:
    _assert_site_page(visitor.get("/@nobody_here/"), 404, "We could not find that page")


def test_a_missing_slash_still_redirects(visitor: Client) -> None:
    response = visitor.get("/accounts/login")

    assert response.status_code == 301
    assert response["Location"] == "/accounts/login/"


@pytest.mark.parametrize("url", ["/?before=abc", "/tags/django/?before=-1"])
def test_a_malformed_cursor_is_our_400(visitor: Client, url: str) -> None:
    _assert_site_page(visitor.get(url), 400, "We could not understand that request")


def test_a_malformed_cursor_on_a_member_home_is_our_400(visitor: Client, member: User) -> None:
    _assert_site_page(visitor.get("/?before=abc"), 400, "We could not understand that request")


def test_a_suspicious_request_is_our_400_and_logged_as_django_does(
    visitor: Client, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="django.security"):
        _assert_site_page(visitor.get("/test-errors/suspicious/"), 400, "We could not understand that request")

    assert [record.name for record in caplog.records if record.levelno == logging.ERROR] == [
        "django.security.SuspiciousOperation"
    ]


def test_a_get_on_a_post_only_route_is_our_405(visitor: Client, member: User) -> None:
    response = visitor.get("/accounts/logout/")

    _assert_site_page(response, 405, "This page does not work that way")
    assert response["Allow"] == "POST"
    assert b"Log out" in visitor.get("/").content  # nothing was done: still logged in


def test_a_refusal_is_our_403_with_its_reason(visitor: Client) -> None:
    body = _assert_site_page(visitor.get("/test-errors/forbidden/"), 403, "You cannot do that")
    assert "Only the owner may do that." in body


def test_an_expired_form_is_still_the_csrf_page(debug: bool) -> None:
    client = Client(enforce_csrf_checks=True)

    response = client.post("/accounts/login/", {"username": "ann", "password": "x"})

    _assert_site_page(response, 403, "This form has expired")


def test_a_rate_limit_is_still_the_429_page(visitor: Client) -> None:
    response = visitor.get("/test-errors/rate-limited/")

    _assert_site_page(response, 429, "Slow down a little")
    assert response["Retry-After"] == "120"


def test_a_bug_is_our_500_and_its_traceback_goes_to_the_log(visitor: Client, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="django.request"):
        _assert_site_page(visitor.get("/test-errors/broken/"), 500, "Something went wrong on our side")

    logged = [record for record in caplog.records if record.name == "django.request"]
    assert len(logged) == 1
    assert logged[0].exc_info is not None
    assert CANARY in str(logged[0].exc_info[1])


def test_a_database_outage_in_a_view_is_the_503(visitor: Client) -> None:
    response = visitor.get("/test-errors/database-down/")

    _assert_site_page(response, 503, "TweetHub is back in a moment")
    assert response["Retry-After"] == "30"


def test_a_database_outage_in_a_middleware_is_the_503(visitor: Client, settings: Any) -> None:
    """Postgres down fails the session and user lookups, in middleware, before any view runs."""
    settings.MIDDLEWARE = [
        *settings.MIDDLEWARE,
        "tests.tweethub.error_urls.DatabaseDownInMiddleware",
    ]

    response = visitor.get("/", headers={"X-Fail-In-Middleware": "1"})

    _assert_site_page(response, 503, "TweetHub is back in a moment")
    assert response["Retry-After"] == "30"
