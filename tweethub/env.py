"""Typed readers for environment variables: the only way settings read the environment.

Each reader names the variable, parses it strictly and fails at start-up with a clear message, so a
typo in production configuration stops the deploy instead of running with a silent default.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs, quote, urlencode, urlsplit

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str) -> str:
    return os.environ.get(name, default)


def env_optional(name: str) -> str | None:
    return os.environ.get(name) or None


# SECRET_KEY with DEBUG off: Django's own rule (its check security.W009, which only `check --deploy`
# runs) made a start-up error, plus the placeholders of examples (.env.example says change-me).
SECRET_KEY_MIN_LENGTH = 50
SECRET_KEY_MIN_UNIQUE_CHARACTERS = 5
_PLACEHOLDER_MARKS = ("change-me", "changeme", "change_me", "replace-me", "replaceme", "your-secret", "insecure")


def secret_key_problem(key: str) -> str | None:
    """Why `key` cannot sign a real site's sessions, password reset links and CSRF tokens, or None.

    Never quotes the key: it may be a real secret, merely short."""
    lowered = key.lower()
    if any(mark in lowered for mark in _PLACEHOLDER_MARKS):
        return "is a placeholder"
    if len(key) < SECRET_KEY_MIN_LENGTH:
        return f"has {len(key)} characters, fewer than {SECRET_KEY_MIN_LENGTH}"
    if len(set(key)) < SECRET_KEY_MIN_UNIQUE_CHARACTERS:
        return f"has {len(set(key))} different characters, fewer than {SECRET_KEY_MIN_UNIQUE_CHARACTERS}"
    return None


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean (use 1/0, true/false, yes/no)")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not an integer") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name}={value} is below its minimum of {minimum}")
    return value


def env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return float(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a number") from None


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def celery_broker_url(redis_url: str) -> str:
    """The same Redis as `redis_url`, spelt the way kombu wants it.

    redis-py and Django's cache accept unix:///path?db=N; kombu rejects unix:// and
    wants redis+socket:///path?virtual_host=N instead.
    """
    parts = urlsplit(redis_url)
    if parts.scheme != "unix":
        return redis_url
    query = parse_qs(parts.query)
    db = query.pop("db", ["0"])[0]
    rest = {key: values[0] for key, values in query.items()}
    return f"redis+socket://{parts.path}?{urlencode({'virtual_host': db, **rest})}"


def database_url_of(params: Mapping[str, Any]) -> str:
    """DATABASE_URL for a Django DATABASES entry: how a process hands its database (e.g. pytest's
    test database) to a server or worker it starts. A socket-directory HOST is percent-encoded."""
    host = quote(str(params["HOST"] or "localhost"), safe="")
    user = quote(str(params["USER"] or ""), safe="")
    password = f":{quote(str(params['PASSWORD']), safe='')}" if params["PASSWORD"] else ""
    port = f":{params['PORT']}" if params["PORT"] else ""
    return f"postgres://{user}{password}@{host}{port}/{params['NAME']}"
