"""Issue 17, item 8: with DEBUG off, a placeholder or weak SECRET_KEY stops the site at start-up.

The key signs sessions, password reset links and CSRF tokens: `SECRET_KEY=change-me`, copied from
.env.example, used to be accepted. Start-up is tested in real processes (settings are read once per
process, when it starts): `manage.py check` and the web process's entry point, tweethub.asgi.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from tweethub.env import secret_key_problem

ROOT = Path(__file__).resolve().parents[2]
STRONG = secrets.token_urlsafe(50)  # what `make run` and the docs make: 67 random characters


def _example_key() -> str:
    """The SECRET_KEY line of .env.example, the file people copy to .env."""
    for line in (ROOT / ".env.example").read_text().splitlines():
        if line.startswith("SECRET_KEY="):
            return line.split("=", 1)[1].split("#", 1)[0].strip()
    raise AssertionError(".env.example has no SECRET_KEY line")


def _start(command: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *command], cwd=ROOT, env={**os.environ, **env}, capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize(
    ("key", "why"),
    [
        ("change-me", "is a placeholder"),
        ("replace-me-with-a-long-random-string-of-at-least-fifty-characters", "is a placeholder"),
        ("django-insecure-" + secrets.token_urlsafe(50), "is a placeholder"),  # Django's startproject key
        (secrets.token_urlsafe(50)[:49], "has 49 characters, fewer than 50"),
        ("ab" * 40, "has 2 different characters, fewer than 5"),
    ],
    ids=["change-me", "long-placeholder", "django-insecure", "short", "few-characters"],
)
def test_weak_keys_are_named_and_why(key: str, why: str) -> None:
    assert secret_key_problem(key) == why


def test_a_random_key_as_the_docs_make_it_passes() -> None:
    assert secret_key_problem(STRONG) is None
    assert secret_key_problem(secrets.token_hex(25)) is None  # 50 hex digits: the shortest accepted


@pytest.mark.parametrize("entry", [["manage.py", "check"], ["-c", "import tweethub.asgi"]], ids=["manage", "web"])
def test_the_example_key_stops_the_site_at_start_up_with_debug_off(entry: list[str]) -> None:
    result = _start(entry, DEBUG="0", SECRET_KEY=_example_key())

    assert result.returncode != 0
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line.startswith("django.core.exceptions.ImproperlyConfigured: SECRET_KEY is a placeholder"), last_line
    assert "secrets.token_urlsafe(50)" in last_line  # and how to make a good one
    assert _example_key() not in last_line


def test_a_short_key_stops_it_too_and_never_appears_in_the_message() -> None:
    short = secrets.token_urlsafe(30)
    result = _start(["manage.py", "check"], DEBUG="0", SECRET_KEY=short)

    assert result.returncode != 0
    assert "ImproperlyConfigured: SECRET_KEY has 40 characters, fewer than 50" in result.stderr
    assert short not in result.stderr


def test_a_strong_key_starts_and_debug_mode_takes_any_key() -> None:
    production = _start(["manage.py", "check"], DEBUG="0", SECRET_KEY=STRONG)
    development = _start(["manage.py", "check"], DEBUG="1", SECRET_KEY="change-me")

    assert production.returncode == 0, production.stderr
    assert development.returncode == 0, development.stderr
