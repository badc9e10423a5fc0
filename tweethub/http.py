"""Small helpers views share for reading the request."""

from __future__ import annotations

import functools
import ipaddress

from django.conf import settings
from django.http import HttpRequest
from django.utils.http import url_has_allowed_host_and_scheme

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def client_ip(request: HttpRequest) -> str:
    """The client's address, as the rate limits and /healthz see it: the peer (REMOTE_ADDR), unless
    the peer is one of settings.TRUSTED_PROXIES (none by default). From a trusted proxy it is the
    nearest X-Forwarded-For entry that is not itself a trusted proxy, read from the right: each proxy
    appends the address it was reached from, so entries further left are whatever the client wrote.

    This is uvicorn's --proxy-headers rule, and the Procfile and Dockerfile give uvicorn the same list
    (--forwarded-allow-ips=$TRUSTED_PROXIES). Behind it REMOTE_ADDR is already that address and, not
    being a trusted proxy, comes back unchanged; under a server that left the header alone (the test
    client, another ASGI server) this reads it the same way. Before issue 17 (item 4) production ran
    uvicorn with --forwarded-allow-ips=*, so any client could pick the address its limits were kept
    under by sending the header itself.
    """
    peer = str(request.META.get("REMOTE_ADDR") or "")
    networks = _networks(tuple(settings.TRUSTED_PROXIES))
    if not peer or not networks or not _trusted(peer, networks):
        return peer or "unknown"
    hops = [hop.strip() for hop in str(request.META.get("HTTP_X_FORWARDED_FOR", "")).split(",")]
    if hops == [""]:
        return peer
    for hop in reversed(hops):
        host = _host(hop)
        if not _trusted(host, networks):
            # An empty entry ("a, , b") names nobody: keep the proxy's own address, as uvicorn does.
            return host or peer
    return _host(hops[0]) or peer  # every hop a proxy of ours: the first one is the client


@functools.lru_cache(maxsize=8)
def _networks(proxies: tuple[str, ...]) -> tuple[Network, ...]:
    # Validated at start-up (tweethub/settings/); parsed once per distinct list.
    return tuple(ipaddress.ip_network(proxy) for proxy in proxies)


def _trusted(host: str, networks: tuple[Network, ...]) -> bool:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False  # not an address (a unix socket, garbage): never a proxy of ours
    return any(address in network for network in networks)


def _host(hop: str) -> str:
    """The address of one X-Forwarded-For entry without its port: "1.2.3.4:80", "[::1]:80" and bare
    addresses, parsed like uvicorn (anything else is kept whole, and is no trusted proxy)."""
    if hop.startswith("["):
        end = hop.find("]")
        rest = hop[end + 1 :]
        return hop[1:end] if end != -1 and (not rest or rest.startswith(":")) else hop
    if hop.count(":") == 1:
        host, port = hop.rsplit(":", 1)
        try:
            int(port)
        except ValueError:
            return hop
        return host
    return hop


def base_url(request: HttpRequest) -> str:
    """Scheme and host of this request (Host is validated against ALLOWED_HOSTS), for mail links."""
    return request.build_absolute_uri("/")


def safe_next(request: HttpRequest, fallback: str) -> str:
    """The ?next= target if it is a path on this site, else `fallback` (no open redirects).

    Only a path from the root: our pages always send one, and redirect() reads anything without a
    "/" or "." ("home", "a b") as the name of a URL pattern and fails on it (a 500, not a redirect).
    """
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target.startswith("/") and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback
