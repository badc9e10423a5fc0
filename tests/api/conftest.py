"""API fixtures: tokens made through the service a person's settings page uses, and clients that
send them."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client

from accounts.models import User
from api.services import token_create

ALL = ["read", "write", "messages"]


def token_for(user: User, scopes: list[str] | None = None, name: str | None = None) -> str:
    _, secret = token_create(user=user, name=name or f"test {len(scopes or ALL)} {id(scopes)}", scopes=scopes or ALL)
    return secret


def bearer(secret: str) -> Client:
    return Client(headers={"Authorization": f"Bearer {secret}"})


@pytest.fixture
def api_client() -> Callable[..., Client]:
    """api_client(user, scopes=...) -> a Client sending a fresh token of `user`."""

    def make(user: User, scopes: list[str] | None = None) -> Client:
        return bearer(token_for(user, scopes))

    return make
