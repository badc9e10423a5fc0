"""The websocket handshake's Origin check compares the whole origin: scheme, host and port
(issue 17, item 11). Channels' AllowedHostsOriginValidator looked at the host name only, so a page
on another port of the same host, or an http page for an https site, could open a socket that
carried the visitor's session cookie."""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync
from channels.testing.websocket import WebsocketCommunicator
from django.conf import settings
from django.test import Client
from pytest_django import Settings

from accounts.consumers import CLOSE_UNAUTHENTICATED
from tests.factories import make_user
from tweethub.asgi import application

pytestmark = pytest.mark.django_db(transaction=True)


_cookie: list[bytes] = []


@pytest.fixture(autouse=True)
def _logged_in_visitor(transactional_db: None) -> None:
    client = Client()
    client.force_login(make_user("olga"))
    _cookie[:] = [f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}".encode()]


def _connects(*, origin: str | None, host: str | None = "127.0.0.1:8000", scheme: str = "ws") -> bool:
    """Open /ws/ as the logged-in visitor with these headers; True when the socket is accepted."""
    headers = [(b"cookie", _cookie[0])]
    if origin is not None:
        headers.append((b"origin", origin.encode()))
    if host is not None:
        headers.append((b"host", host.encode()))

    async def handshake() -> tuple[bool, int | None]:
        communicator = WebsocketCommunicator(application, "/ws/", headers=headers)
        communicator.scope["scheme"] = scheme
        connected, code = await communicator.connect()
        if connected:
            await communicator.disconnect()
        return connected, code

    connected, code = async_to_sync(handshake)()
    # A refusal must be the origin check's, not the consumer's "log in again".
    assert connected or code != CLOSE_UNAUTHENTICATED
    return bool(connected)


def test_the_sites_own_origin_is_accepted() -> None:
    assert _connects(origin="http://127.0.0.1:8000")
    # The scheme's default port, written or not, is the same origin.
    assert _connects(origin="http://localhost", host="localhost:80")
    assert _connects(origin="http://localhost:80", host="localhost")


def test_the_same_host_on_another_port_is_refused() -> None:
    assert not _connects(origin="http://127.0.0.1:9000")
    assert not _connects(origin="http://127.0.0.1")  # port 80, not 8000
    assert not _connects(origin="http://localhost:8080", host="localhost")


def test_an_http_page_cannot_open_an_https_sites_socket_nor_the_reverse(settings: Settings) -> None:
    assert not _connects(origin="https://127.0.0.1:8000")  # the site is served over http here
    assert _connects(origin="https://127.0.0.1:8000", scheme="wss")
    assert not _connects(origin="http://127.0.0.1:8000", scheme="wss")

    settings.HTTPS = True  # behind a TLS proxy: the socket reaches us as ws, the site is https
    settings.ALLOWED_HOSTS = ["tweethub.example"]
    assert _connects(origin="https://tweethub.example", host="tweethub.example")
    assert not _connects(origin="http://tweethub.example", host="tweethub.example")
    assert not _connects(origin="https://tweethub.example:8443", host="tweethub.example")


def test_a_host_outside_allowed_hosts_is_refused_even_when_origin_and_host_agree() -> None:
    """DNS rebinding: an attacker's name pointed at our address sends its own name in both."""
    assert "rebind.example" not in settings.ALLOWED_HOSTS
    assert not _connects(origin="http://rebind.example:8000", host="rebind.example:8000")


@pytest.mark.parametrize(
    "origin",
    [None, "null", "", "127.0.0.1:8000", "ws://127.0.0.1:8000", "http://127.0.0.1:8000/page",
     "http://user@127.0.0.1:8000", "http://127.0.0.1:99999", "http://127.0.0.1:80a0"],
)  # fmt: skip
def test_a_missing_or_malformed_origin_is_refused(origin: str | None) -> None:
    assert not _connects(origin=origin)


def test_without_a_host_header_the_origin_must_be_an_allowed_host_on_the_default_port() -> None:
    """No browser omits Host; test clients and odd proxies may. Then the host comes from
    ALLOWED_HOSTS and the port is the scheme's default (no server address in this scope)."""
    assert _connects(origin="http://localhost", host=None)
    assert not _connects(origin="http://localhost:8000", host=None)
    assert not _connects(origin="http://evil.example", host=None)
