"""How Django's psycopg pool notices a restarted or a dead Postgres quickly (issue 17, item 12).

settings.DATABASES["default"]["OPTIONS"]["pool"] hands these to psycopg_pool.ConnectionPool, and
CONN_HEALTH_CHECKS makes Django pass ConnectionPool.check_connection as the pool's `check`: an empty
query on an idle connection before the pool hands it out.

- Postgres restarted: every idle connection is dead, though nothing says so until one is used (each
  failed the first request it served). The check finds the first dead one; PooledConnection then
  drains the pool, because the others came from the same server: they are all replaced at once, and
  the request gets a new connection after the pool's first retry (about a second) instead of trying
  every dead one in turn with a doubling delay (1, 2, 4 s ..., past its timeout: a 503).
- Postgres down: a failed connection attempt is retried at once, then given up (reconnect_timeout
  0), and `shorten_waits_while_unreachable` lowers the pool's wait to DB_DOWN_TIMEOUT_SECONDS: each
  request that needs Postgres gets the 503 page in about that time instead of waiting
  DB_POOL_TIMEOUT_SECONDS, and tries to connect again, so Postgres's return is seen by the first
  request after it (psycopg_pool's own retries back off to minutes). The first connection made
  again gives the pool its wait back. A request already waiting when Postgres went away keeps the
  wait it started with.
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Callable
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool

logger = logging.getLogger(__name__)

_lock = threading.Lock()
# Pools whose wait is shortened while Postgres is unreachable -> the wait to give back.
_shortened: weakref.WeakKeyDictionary[ConnectionPool[Any], float] = weakref.WeakKeyDictionary()


def shorten_waits_while_unreachable(seconds: float) -> Callable[[ConnectionPool[Any]], None]:
    """The pool's `reconnect_failed` callback: called (in a pool thread) when a connection attempt
    was given up, it makes getconn() wait at most `seconds` until a connection is made again."""

    def unreachable(pool: ConnectionPool[Any]) -> None:
        with _lock:
            if pool in _shortened:
                return
            _shortened[pool] = pool.timeout
            pool.timeout = min(pool.timeout, seconds)
        logger.warning("Postgres unreachable: requests wait %.1f s for a connection until one is made", seconds)

    return unreachable


def _reachable() -> None:
    with _lock:
        if not _shortened:
            return
        for pool, timeout in list(_shortened.items()):
            pool.timeout = timeout
        _shortened.clear()
    logger.warning("Postgres reachable again")


class PooledConnection(psycopg.Connection[Any]):
    """The pool's connection class: says when a connection could be made, and drains the pool when
    the pool's check finds an idle connection dead (see the module's docstring)."""

    @classmethod
    def connect(cls, conninfo: str = "", **kwargs: Any) -> PooledConnection:
        connection = super().connect(conninfo, **kwargs)
        _reachable()
        return connection

    def execute(self, query: Any, params: Any = None, *, prepare: bool | None = None, binary: bool = False) -> Any:
        try:
            return super().execute(query, params, prepare=prepare, binary=binary)
        except psycopg.OperationalError:
            # The empty query is ConnectionPool.check_connection's probe, run while the pool hands
            # this idle connection out (`_pool` is set then).
            pool = self._pool
            if query == "" and isinstance(pool, ConnectionPool):
                logger.warning("A pooled Postgres connection was dead: replacing every idle one")
                pool.drain()
            raise
