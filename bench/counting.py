"""Counting what one call costs in round trips: SQL queries (Django's CaptureQueriesContext) and
Redis commands sent (each pipeline or script call is one), for the page and feed-read figures."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import redis.connection
from django.db import connection
from django.test.utils import CaptureQueriesContext


def command_name(command: Any) -> str:
    """The first word of what one send_packed_command call sends (a command, a pipeline's first
    command, or EVALSHA): how round trips are named here and in the tests' `redis_round_trips`."""
    first = command[0] if isinstance(command, list) and command else command
    head = bytes(first[:80]) if isinstance(first, bytes | bytearray | memoryview) else b""
    words = [part for part in head.split(b"\r\n") if part and part[:1] not in (b"*", b"$")]
    return words[0].decode(errors="replace") if words else "?"


@dataclass
class RoundTrips:
    sql: list[str] = field(default_factory=list)  # the statements, in order
    redis: list[str] = field(default_factory=list)  # the first word of each packet sent

    def summary(self) -> str:
        return f"{len(self.sql)} SQL queries, {len(self.redis)} Redis round trips ({' '.join(self.redis) or '-'})"


@contextlib.contextmanager
def round_trips() -> Iterator[RoundTrips]:
    """Count SQL queries and Redis round trips of this process while the block runs.

    Redis: wraps redis-py's AbstractConnection.send_packed_command (a library seam, as the tests'
    `redis_round_trips` fixture does): every command, pipeline or script call passes through it
    once. A new connection's handshake counts too: warm the call up first."""
    counted = RoundTrips()
    original: Callable[..., None] = redis.connection.AbstractConnection.send_packed_command

    def counting(self: Any, command: Any, check_health: bool = True) -> None:
        counted.redis.append(command_name(command))
        original(self, command, check_health)

    redis.connection.AbstractConnection.send_packed_command = counting  # type: ignore[method-assign]
    try:
        with CaptureQueriesContext(connection) as queries:
            yield counted
        counted.sql = [query["sql"] for query in queries.captured_queries]
    finally:
        redis.connection.AbstractConnection.send_packed_command = original  # type: ignore[method-assign]
