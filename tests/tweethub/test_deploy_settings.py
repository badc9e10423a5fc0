"""`manage.py check --deploy` passes, warnings included, with production's environment (issue 9)."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _check_deploy(**env: str) -> subprocess.CompletedProcess[str]:
    production = {
        name: value
        for name, value in os.environ.items()
        if name not in {"SECURE_SSL_REDIRECT", "HSTS_PRELOAD", "DEMO_MODE", "INSECURE_FAST_PASSWORD_HASHING"}
    }
    production.update(
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(50),  # 67 random characters, as production must have
        ALLOWED_HOSTS="tweethub.example.com",
        **env,
    )
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=production,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    "env",
    [
        {"HTTPS": "1"},
        {"HTTPS": "1", "SECURE_SSL_REDIRECT": "0"},  # the TLS proxy redirects instead
        {"HTTPS": "1", "HSTS_PRELOAD": "1"},
    ],
)
def test_production_settings_pass_check_deploy(env: dict[str, str]) -> None:
    result = _check_deploy(**env)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_check_deploy_fails_without_https() -> None:
    """The check does fail: served over plain HTTP, cookies and HSTS are what it reports."""
    result = _check_deploy(HTTPS="0")

    assert result.returncode == 1
    for warning in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert warning in result.stderr
