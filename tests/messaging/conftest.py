from __future__ import annotations

import pytest


@pytest.fixture
def generous_rate_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    """For tests that need more messages than one person may send a minute. The limit is a module
    constant until it becomes a setting; this is what override_settings would do then."""
    monkeypatch.setattr("messaging.services.MESSAGE_RATE_LIMIT", "100000/1m")
