"""CSRF: no route takes a forged POST, and no foreign page opens a websocket on a visitor's session.

Routes are enumerated from the URLconf (tweethub.urls and every include), so a route added later is
tested without anyone remembering to list it: a new POST route marked @csrf_exempt fails here, and
one with a URL parameter this file has no sample for fails until a sample is added.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.testing.websocket import WebsocketCommunicator
from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from accounts.services import verification_token
from api.services import token_create
from tests.factories import PASSWORD, make_user
from tests.security.conftest import World, database_fingerprint, fingerprint_diff, logged_in
from tweethub import presence
from tweethub.asgi import application

# Routes allowed to take a POST without a CSRF token: name -> why. None today: every view,
# GET-only ones included, goes through CsrfViewMiddleware. (GET /accounts/verify/<token>/ changes
# state without a token on purpose, but it is a GET: the signed token in the link is the credential.)
CSRF_EXEMPT_ALLOWED: dict[str, str] = {}
# The JSON API is left out of the walk: its views are exempt from the middleware on purpose (a token
# is no ambient credential) and check CSRF themselves once a logged-in session is found
# (api.auth.SessionAuth). tests/security/test_api_matrix.py forges a session's unsafe request to
# every operation of its schema, as this file does for the pages.
API_PREFIX = "/api/v1/"


@dataclass(frozen=True)
class Route:
    name: str
    pattern: str
    callback: Callable[..., Any]
    params: frozenset[str]

    def __str__(self) -> str:
        return self.name


def _walk(patterns: list[Any], namespaces: tuple[str, ...], params: frozenset[str], prefix: str) -> Iterator[Route]:
    for entry in patterns:
        here = params | frozenset(entry.pattern.regex.groupindex)
        if isinstance(entry, URLResolver):
            if prefix + str(entry.pattern) == API_PREFIX:
                continue
            inner = (*namespaces, entry.namespace) if entry.namespace else namespaces
            yield from _walk(entry.url_patterns, inner, here, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            pattern = prefix + str(entry.pattern)
            # Named, so it can be reversed (and linked to from templates): an unnamed route fails here.
            assert entry.name, f"route {pattern!r} has no name"
            yield Route(":".join([*namespaces, entry.name]), pattern, entry.callback, here)


def all_routes() -> list[Route]:
    return list(_walk(get_resolver().url_patterns, (), frozenset(), "/"))


ROUTES = all_routes()


def _reset_link(world: World) -> dict[str, object]:
    uid = urlsafe_base64_encode(force_bytes(world.alice.pk))
    return {"uidb64": uid, "token": default_token_generator.make_token(world.alice)}


# URL parameter -> a value naming one of Alice's things (she is the one logged in), so that a
# forged request, were it accepted, would really act on her account.
SAMPLES: dict[str, Callable[[World], object]] = {
    "tweet_id": lambda world: world.tweet.pk,
    "username": lambda world: world.carol.username,
    "conversation_id": lambda world: world.conversation.pk,
    "mail_id": lambda world: world.mail.pk,
    "tag": lambda world: "hello",
    "which": lambda world: "following",
    "path": lambda world: "avatars/none.webp",
    "token": lambda world: verification_token(make_user("newbie", verified=False)),
    "kind": lambda world: "tweet",
    "target_id": lambda world: world.bobs_tweet_id,  # Alice may report Bob's tweet
    "report_id": lambda world: world.report_id,
    "user_id": lambda world: world.bob.pk,
    "token_id": lambda world: token_create(user=world.alice, name="alice's token", scopes=["read"])[0].pk,
}
# Per route, where one sample does not fit every route using that parameter.
ROUTE_SAMPLES: dict[str, Callable[[World], dict[str, object]]] = {
    "follows:follow": lambda world: {"username": world.erin.username},  # Alice does not follow her yet
    "tweets:unpin": lambda world: {"tweet_id": world.pinned.pk},
    "follows:unblock": lambda world: {"username": world.grace.username},  # Alice blocked and muted her
    "follows:unmute": lambda world: {"username": world.grace.username},
    "tweets:unlike": lambda world: {"tweet_id": world.carols_tweet_id},  # Alice likes it
    "tweets:unbookmark": lambda world: {"tweet_id": world.carols_tweet_id},  # and bookmarked it
    "tweets:repost": lambda world: {"tweet_id": world.bobs_tweet_id},
    "tweets:unrepost": lambda world: {"tweet_id": world.carols_tweet_id},  # Alice reposted it
    "tweets:quote": lambda world: {"tweet_id": world.bobs_tweet_id},
    "accounts:password_reset_confirm": _reset_link,
}
FORGED_PASSWORD = "forged-Pa55-word!"
# What the page's own form would send: a forged request carries everything but the token.
FORM_DATA: dict[str, Callable[[World], dict[str, str]]] = {
    "tweets:create": lambda world: {"text": "forged tweet"},
    "messaging:conversation": lambda world: {"text": "forged message"},
    "settings_profile": lambda world: {"name": "Forged", "bio": "forged", "dm_policy": "everyone"},
    "settings_location": lambda world: {"latitude": "1.5", "longitude": "2.5"},
    "accounts:password_change": lambda world: {
        "old_password": PASSWORD, "new_password1": FORGED_PASSWORD, "new_password2": FORGED_PASSWORD
    },
    "accounts:password_reset": lambda world: {"email": world.alice.email},
    "accounts:login": lambda world: {"username": world.bob.username, "password": PASSWORD},
    "moderation:report": lambda world: {"reason": "spam"},
    "tweets:reply": lambda world: {"text": "forged reply"},
    "tweets:quote": lambda world: {"text": "forged quote"},
    "settings_tokens": lambda world: {"name": "forged token", "scopes": "read"},
    "accounts:signup": lambda world: {
        "name": "Forged", "username": "forged", "email": "forged@example.com",
        "password1": FORGED_PASSWORD, "password2": FORGED_PASSWORD,
    },
}  # fmt: skip
# Routes whose POST changes the database when it is accepted (proved below with CSRF checks off):
# the forged POST above must change nothing, and the probe must, or the test proves nothing.
STATE_CHANGING = {
    "tweets:create", "tweets:delete", "tweets:pin", "tweets:unpin", "follows:follow", "follows:unfollow",
    "messaging:conversation", "settings_profile", "settings_location", "settings_location_stop",
    "accounts:password_change", "accounts:password_reset", "accounts:signup", "accounts:verify",
    "moderation:report", "tweets:reply", "follows:block", "follows:unblock", "follows:mute", "follows:unmute",
    "tweets:like", "tweets:unlike", "tweets:bookmark", "tweets:unbookmark", "notifications:mark_all_read",
    "tweets:repost", "tweets:unrepost", "tweets:quote", "settings_tokens", "settings_token_revoke",
}  # fmt: skip


def _url(route: Route, world: World) -> str:
    kwargs = ROUTE_SAMPLES[route.name](world) if route.name in ROUTE_SAMPLES else {}
    for param in route.params - kwargs.keys():
        if param not in SAMPLES:
            pytest.fail(f"{route.name} ({route.pattern}) has a parameter {param!r} with no sample in SAMPLES")
        kwargs[param] = SAMPLES[param](world)
    return reverse(route.name, kwargs=kwargs)


def test_the_urlconf_walk_finds_every_kind_of_route() -> None:
    names = {route.name for route in ROUTES}
    # Top level, regex routes, and namespaced includes at two depths of prefix.
    assert {"landing", "profile", "settings_location_stop", "tweets:delete", "follows:follow"} <= names
    assert {"messaging:permalink", "mailcatcher:detail", "adminpanel:figures", "accounts:password_reset_confirm"} <= (
        names
    )
    assert len(ROUTES) == len(names), "two routes share a name"


@pytest.mark.parametrize("route", ROUTES, ids=str)
def test_no_view_is_csrf_exempt_unless_allowed(route: Route) -> None:
    exempt = bool(getattr(route.callback, "csrf_exempt", False))
    if route.name in CSRF_EXEMPT_ALLOWED:
        assert exempt, f"{route.name} is allow-listed as CSRF-exempt but is not: drop it from the list"
    else:
        assert not exempt, f"{route.name} ({route.pattern}) is @csrf_exempt"


def _refused_by_csrf(caplog: pytest.LogCaptureFixture, client: Client, url: str, data: dict[str, str]) -> None:
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="django.security.csrf"):
        response = client.post(url, data)
    assert response.status_code == 403, f"POST {url} without a CSRF token: {response.status_code}"
    rejections = [record for record in caplog.records if record.name == "django.security.csrf"]
    assert rejections, f"POST {url} got a 403, but not from the CSRF check"


@pytest.mark.django_db
@pytest.mark.parametrize("route", ROUTES, ids=str)
def test_a_post_without_csrf_token_is_refused_and_changes_nothing(
    route: Route, world: World, caplog: pytest.LogCaptureFixture, generous_rate_limits: None
) -> None:
    url = _url(route, world)
    data = FORM_DATA[route.name](world) if route.name in FORM_DATA else {}
    if route.name in CSRF_EXEMPT_ALLOWED:
        pytest.skip(CSRF_EXEMPT_ALLOWED[route.name])
    member = logged_in(world.alice, enforce_csrf_checks=True)
    member.get("/")  # last_active written now, not by the request under test
    before = database_fingerprint()

    _refused_by_csrf(caplog, member, url, data)
    _refused_by_csrf(caplog, Client(enforce_csrf_checks=True), url, data)  # login CSRF too
    assert fingerprint_diff(before, database_fingerprint()) == []

    # The same POST with CSRF checks off: does this route take POSTs at all, and would a forged one
    # have done harm? (Proves the fingerprint above could see the change it guards against.)
    unchecked = logged_in(world.alice) if route.name != "accounts:signup" else Client()
    unchecked.get("/")
    before = database_fingerprint()
    response = unchecked.post(url, data)
    changed = fingerprint_diff(before, database_fingerprint())
    if route.name in STATE_CHANGING:
        assert response.status_code != 405
        assert changed, f"POST {url} with CSRF checks off changed nothing ({response.status_code}): a useless sample"


def test_every_state_changing_route_exists() -> None:
    assert {route.name for route in ROUTES} >= STATE_CHANGING


# --- The websocket: Origin must name one of our hosts -----------------------------------------------


def _session_cookie(client: Client) -> bytes:
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}".encode()


def _connect(headers: list[tuple[bytes, bytes]]) -> tuple[bool, int]:
    async def scenario() -> tuple[bool, int]:
        socket = WebsocketCommunicator(application, "/ws/", headers=headers)
        connected, _ = await socket.connect(timeout=5)
        if connected:
            await socket.disconnect()
        online = await sync_to_async(presence.online_user_ids)()
        return bool(connected), len(online)

    result: tuple[bool, int] = async_to_sync(scenario)()
    return result


FOREIGN_ORIGINS = [
    b"https://evil.example",
    b"http://localhost.evil.example",  # our host name as a prefix
    b"http://evil-localhost",
    b"http://127.0.0.1.evil.example",
    b"http://evil.example:8000",
    b"null",  # sandboxed iframes and file:// pages
    b"localhost",  # no scheme: not a valid origin
]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("origin", [*FOREIGN_ORIGINS, None], ids=lambda o: "no-origin" if o is None else o.decode())
def test_a_socket_from_a_foreign_origin_is_refused(origin: bytes | None) -> None:
    cookie = _session_cookie(logged_in(make_user("victim")))
    headers = [(b"cookie", cookie)] + ([(b"origin", origin)] if origin is not None else [])
    connected, online = _connect(headers)
    assert not connected
    assert online == 0, "a refused socket registered presence"


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("origin", "host"),
    [(b"http://localhost", b"localhost"), (b"http://127.0.0.1:8000", b"127.0.0.1:8000"), (b"http://localhost", None)],
)
def test_a_socket_from_our_own_origin_connects(origin: bytes, host: bytes | None) -> None:
    """The control for the test above: the same cookie from our own pages is accepted. Our own
    origin is the one the socket was opened on, port and scheme included (tests/security/
    test_origin.py); without a Host header, an allowed host on the scheme's default port."""
    cookie = _session_cookie(logged_in(make_user("member")))
    headers = [(b"cookie", cookie), (b"origin", origin)] + ([(b"host", host)] if host is not None else [])
    connected, _ = _connect(headers)
    assert connected
