"""Waiting for something another process does (a worker, a server), on a condition, never a sleep."""

from __future__ import annotations

import time
from collections.abc import Callable


def eventually(predicate: Callable[[], object], timeout: float = 20.0, interval: float = 0.05) -> bool:
    """True as soon as `predicate()` is truthy, False if it is still falsy after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False
