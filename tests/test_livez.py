"""/livez says the web process serves requests, without touching Postgres or Redis."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.django_db


def test_livez_answers_ok_without_queries(client: Any, django_assert_num_queries: Any) -> None:
    with django_assert_num_queries(0):
        response = client.get("/livez")
    assert response.status_code == 200
    assert response.content == b"ok"
    assert response["Content-Type"].startswith("text/plain")
    assert "no-cache" in response["Cache-Control"]


def test_livez_is_read_only(client: Any) -> None:
    assert client.post("/livez").status_code == 405
