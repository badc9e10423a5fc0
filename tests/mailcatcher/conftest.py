"""Mail catcher fixtures.

Django's test setup swaps EMAIL_BACKEND for its locmem backend; these tests are about our backend,
so they put it back (the production default, see tweethub/settings/).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from pytest_django import Settings

CAPTURING_BACKEND = "mailcatcher.backends.CapturingEmailBackend"
LOCMEM_BACKEND = "django.core.mail.backends.locmem.EmailBackend"

_numbers = itertools.count(1)

MakeUser = Callable[..., Any]


@pytest.fixture(autouse=True)
def capturing_backend(settings: Settings) -> None:
    settings.EMAIL_BACKEND = CAPTURING_BACKEND
    settings.MAIL_DELIVERY_BACKEND = ""


@pytest.fixture
def make_user(db: None) -> MakeUser:
    """Builds accounts straight through the ORM: setup must not depend on the accounts app's
    services, which these tests do not exercise."""

    def make(username: str | None = None, *, email: str | None = None, **fields: Any) -> Any:
        username = username or f"user{next(_numbers)}"
        user = get_user_model()(username=username, email=email or f"{username.lower()}@example.com", **fields)
        user.set_unusable_password()
        user.save()
        return user

    return make


def logged_in(client: Client, user: Any) -> Client:
    """The test client, logged into `user`: in demo mode that is what lets it read the account's
    mail (mailcatcher.access)."""
    client.force_login(user)
    return client
