from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import split_domain_port, validate_host
from django.urls import path

# Importing these registers their websocket message handlers (accounts.consumers.handles).
import messaging.realtime  # noqa: F401
import notifications.realtime  # noqa: F401
import timelines.live  # noqa: F401
from accounts.consumers import UserConsumer

websocket_urlpatterns = [
    path("ws/", UserConsumer.as_asgi()),
]

Scope = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]], Awaitable[None]]

_DEFAULT_PORTS = {"http": 80, "https": 443}


def _header(scope: Scope, name: bytes) -> str | None:
    """The one value of header `name`, or None when it is absent or sent more than once (two
    Origins or two Hosts are ambiguous, so they decide nothing)."""
    values = [value for key, value in scope.get("headers", []) if key == name]
    if len(values) != 1:
        return None
    try:
        return bytes(values[0]).decode("latin1")
    except (TypeError, ValueError):
        return None


def _origin(raw: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) of a serialized origin such as "https://example.com:8443", with the
    scheme's default port filled in and an IPv6 host in brackets as Host headers write it; None
    for "null" or anything that is not exactly an http(s) origin."""
    try:
        parts = urlsplit(raw)
        port = parts.port
    except ValueError:  # a port out of range or not a number, a malformed IPv6 literal
        return None
    if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    # An origin is scheme://host[:port] and nothing else: no user, path, query or fragment.
    if parts.username is not None or parts.password is not None or parts.path or parts.query or parts.fragment:
        return None
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return parts.scheme, host.rstrip("."), port or _DEFAULT_PORTS[parts.scheme]


def origin_allowed(scope: Scope) -> bool:
    """Whether a websocket handshake comes from one of our own pages: its Origin must equal the
    site's origin exactly, in scheme, host and port.

    - Scheme: https when the site is served over https (settings.HTTPS, or a wss socket), else
      http. An http page (say a network attacker's injected one) may not use an https site's socket.
    - Host and port: those the browser connected to (the Host header, which must name one of
      ALLOWED_HOSTS, as Django requires of HTTP requests). Another port on the same host is
      another origin: any other local service, or a second site on the same machine, runs there.
      Without a Host header (never from a browser) the origin's host must be allowed and its port
      the server's (or the scheme's default).

    Channels' AllowedHostsOriginValidator, used before, compared the host name only.
    """
    raw_origin = _header(scope, b"origin")
    origin = _origin(raw_origin) if raw_origin is not None else None
    if origin is None:
        return False
    scheme, host, port = origin
    served_secure = bool(getattr(settings, "HTTPS", False)) or scope.get("scheme") == "wss"
    if scheme != ("https" if served_secure else "http"):
        return False
    allowed_hosts = settings.ALLOWED_HOSTS
    if settings.DEBUG and not allowed_hosts:
        allowed_hosts = [".localhost", "127.0.0.1", "[::1]"]  # what Django allows HTTP in this case
    if not validate_host(host, allowed_hosts):
        return False
    raw_host = _header(scope, b"host")
    if raw_host is not None:
        domain, host_port = split_domain_port(raw_host)
        if not domain or (host_port and not host_port.isdigit()):
            return False
        return (domain.rstrip("."), int(host_port) if host_port else _DEFAULT_PORTS[scheme]) == (host, port)
    server = scope.get("server")
    server_port = server[1] if server and server[1] is not None else _DEFAULT_PORTS[scheme]
    return port == server_port


class SameOriginValidator:
    """ASGI middleware that refuses a websocket handshake whose Origin is not the site's own
    (origin_allowed): a page elsewhere cannot open a socket that rides on our visitor's session
    cookie. Refused handshakes are closed before the application sees them (HTTP 403)."""

    def __init__(self, application: ASGIApp) -> None:
        self.application = application

    async def __call__(
        self, scope: Scope, receive: Callable[[], Awaitable[Any]], send: Callable[[Any], Awaitable[None]]
    ) -> None:
        if scope["type"] == "websocket" and not origin_allowed(scope):
            await WebsocketDenier()(scope, receive, send)
            return
        await self.application(scope, receive, send)
