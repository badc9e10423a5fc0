"""The shared demo login (seed_demo's account) that the landing and login pages show in DEMO_MODE,
so a newcomer need not find it in the console output of `make run`."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from django.conf import settings
from django.db import InterfaceError, OperationalError

from accounts.models import User

# The demo site's shared login: made by `manage.py seed_demo` (adminpanel.seed), printed by it and
# by `make run`, shown on the landing and login pages. Public on purpose; only in DEMO_MODE.
DEMO_USERNAME = "demo"
DEMO_PASSWORD = "tweethub-demo"  # noqa: S105

logger = logging.getLogger(__name__)

# Seconds this process trusts that the demo account exists before asking Postgres again. Only a
# "yes" is kept: the nightly purge deletes the account (seed_demo makes it again on the next start),
# and showing it up to this long after the purge costs a visitor one failed login at worst.
DEMO_ACCOUNT_RECHECK_SECONDS = 60.0


@dataclass(frozen=True)
class DemoLogin:
    username: str
    password: str


_seen_at: float | None = None  # time.monotonic() when the account was last found


def demo_login() -> DemoLogin | None:
    """The demo login to show, or None: DEMO_MODE off, no active demo account, or Postgres away
    (the pages showing it must not fail for it). No query while the account is known to exist."""
    global _seen_at  # one fact per process; a race between threads only asks Postgres twice
    if not settings.DEMO_MODE:
        return None
    now = time.monotonic()
    if _seen_at is None or now - _seen_at > DEMO_ACCOUNT_RECHECK_SECONDS:
        try:
            exists = User.objects.filter(username=DEMO_USERNAME, is_active=True).exists()
        except (OperationalError, InterfaceError):
            logger.warning("cannot tell whether the demo account exists", exc_info=True)
            return None
        _seen_at = now if exists else None
        if not exists:
            return None
    return DemoLogin(username=DEMO_USERNAME, password=DEMO_PASSWORD)


def forget() -> None:
    """Ask Postgres again next time (tests, after creating or deleting the demo account)."""
    global _seen_at
    _seen_at = None
