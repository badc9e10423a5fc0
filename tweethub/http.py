"""Small helpers views share for reading the request."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.http import url_has_allowed_host_and_scheme


def client_ip(request: HttpRequest) -> str:
    """The client's address. Behind a proxy, uvicorn's --proxy-headers has already put the real
    client into REMOTE_ADDR (only for proxies listed in --forwarded-allow-ips), so we never parse
    X-Forwarded-For ourselves, which any client could forge."""
    return str(request.META.get("REMOTE_ADDR") or "unknown")


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
