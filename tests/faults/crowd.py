"""A crowd of open home pages for fault tests: many websockets in one asyncio loop (its own thread),
each behaving as static/js/live.js with timeline.js does in a browser.

A page:
- on every (re)connection sends {"type": "catch_up", "after": <newest id it holds>} (timeline.js's
  "open" handler), and keeps each tweet once, whether it came live (tweet.new) or by catch-up;
- on `live.catch_up` from the server, asks the same after a random delay within payload.within_ms
  (live.js dispatches "open" again), if the socket is still open then;
- after a close, waits as live.js's close handler does (the rule below, its numbers read from
  live.js itself) and reconnects; it stops after 4401 (logged out), as live.js does.

Where it reconnects: a browser reopens /ws/ on the same host, and the load balancer in front of the
web processes hands a connection that the server lost (the process died) to one that answers. Here
each page knows every web process's port and moves to the next one after a connection lost without
a close (or one that could not open); after a clean close it stays.

Only a page's first connection is paced (CONNECT_CONCURRENCY handshakes at once, as pages load at
people's pace): reconnections are not, so a herd, if the rule allowed one, would show.
Every catch-up request is recorded with when it was sent and when its answer (tweet.catch_up, one
per request, in order: a consumer handles its messages one at a time) came back.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake
from websockets.protocol import State
from websockets.typing import Origin

from tests.faults.conftest import ROOT

T = TypeVar("T")
LIVE_JS = ROOT / "static" / "js" / "live.js"
CLOSE_UNAUTHENTICATED = 4401
CONNECT_CONCURRENCY = 50  # first handshakes in flight at once


def _live_js(pattern: str) -> tuple[float, ...]:
    found = re.search(pattern, LIVE_JS.read_text())
    assert found is not None, f"static/js/live.js no longer matches {pattern!r}: update tests/faults/crowd.py"
    return tuple(float(group) for group in found.groups())


# The reconnect rule of static/js/live.js, mirrored by `retry_wait`; its numbers are read from live.js
# so the two cannot drift apart (if live.js changes shape, these fail loudly at import).
(FIRST_DELAY_MS,) = _live_js(r"var delay = (\d+);")
(MAX_DELAY_MS,) = _live_js(r"var MAX_DELAY = (\d+);")
# The spread of the wait: `delay === 1000 && !closed.wasClean ? 4 : 0.5` (1-5 s after a lost connection).
LOST_SPREAD, CLOSED_SPREAD = _live_js(r"delay === 1000 && !closed\.wasClean \? ([\d.]+) : ([\d.]+);")


def retry_wait(delay_ms: float, *, clean: bool, rng: random.Random) -> tuple[float, float]:
    """Mirrors static/js/live.js's close handler: (seconds to wait, the next delay in ms)."""
    spread = LOST_SPREAD if delay_ms == FIRST_DELAY_MS and not clean else CLOSED_SPREAD
    wait_ms = delay_ms + rng.random() * delay_ms * spread
    return wait_ms / 1000, min(delay_ms * 2, MAX_DELAY_MS)


@dataclass
class CatchUp:
    """One catch-up request: why it was sent ("open": a (re)connection; "told": live.catch_up)."""

    page: int
    connection: int
    why: str
    sent_at: float  # time.monotonic()
    answered_at: float | None = None
    tweets: int = 0


@dataclass
class Page:
    """One open home page of one person (`user_id`), connected to ports[port_index]."""

    index: int
    user_id: int
    cookie: str
    port_index: int
    held: dict[int, float] = field(default_factory=dict)  # tweet id -> when the page first had it
    connections: int = 0
    lost: list[float] = field(default_factory=list)  # when a connection ended without a close
    attempts: list[float] = field(default_factory=list)  # when each connection attempt started
    # When each reconnect and each told catch-up was due by the rule (the moment it was decided plus
    # its wait): the spread the rule asks for, however late a loaded machine wakes this loop.
    planned: list[float] = field(default_factory=list)
    opened: list[tuple[float, int]] = field(default_factory=list)  # (when, port)
    close_codes: list[int | None] = field(default_factory=list)
    told: list[tuple[float, int]] = field(default_factory=list)  # live.catch_up: (when, connection)
    live: int = 0
    duplicates_skipped: int = 0
    ended: bool = False  # 4401: live.js stops


class Crowd:
    """Pages for (user id, cookie) pairs, spread over `ports` in turn, run in a thread of their own.
    Read them through `call`, which runs a function in the crowd's loop (no locks needed)."""

    def __init__(self, *, ports: list[int], people: list[tuple[int, str]], seed: int = 19) -> None:
        self.ports = ports
        self.pages = [
            Page(index=i, user_id=user_id, cookie=cookie, port_index=i % len(ports))
            for i, (user_id, cookie) in enumerate(people)
        ]
        self.catch_ups: list[CatchUp] = []
        self.rng = random.Random(seed)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="crowd", daemon=True)
        self.tasks: set[asyncio.Task[None]] = set()
        self.errors: list[str] = []  # a page's loop that crashed (the test asserts there is none)
        self.stopping = False

    # --- From the test's thread ---------------------------------------------------------------------

    def start(self) -> None:
        self.thread.start()
        self.call(self._start_pages)

    def call(self, function: Callable[[], T], timeout: float = 30) -> T:
        async def run() -> T:
            return function()

        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(timeout)

    def stop(self) -> None:
        async def close_all() -> None:
            self.stopping = True
            for task in list(self.tasks):
                task.cancel()
            await asyncio.gather(*self.tasks, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(close_all(), self.loop).result(60)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()

    # --- In the crowd's loop --------------------------------------------------------------------------

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self.tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self.tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self.errors.append(repr(task.exception()))

    def _start_pages(self) -> None:
        gate = asyncio.Semaphore(CONNECT_CONCURRENCY)
        for page in self.pages:
            self._spawn(self._run(page, gate))

    async def _open(self, page: Page) -> ClientConnection:
        port = self.ports[page.port_index]
        return await connect(
            f"ws://127.0.0.1:{port}/ws/",
            origin=Origin(f"http://127.0.0.1:{port}"),
            additional_headers={"Cookie": page.cookie},
            proxy=None,
            open_timeout=30,
            ping_interval=None,  # a browser sends no pings; a dead server shows as a lost connection
            # Browsers compress (permessage-deflate); here it would only cost the two shared cores.
            compression=None,
            close_timeout=2,
        )

    async def _run(self, page: Page, gate: asyncio.Semaphore) -> None:
        delay_ms = FIRST_DELAY_MS
        first = True
        while not self.stopping:
            clean, code = False, None
            page.attempts.append(time.monotonic())
            try:
                if first:
                    async with gate:
                        socket = await self._open(page)
                    first = False
                else:
                    socket = await self._open(page)
            except (OSError, InvalidHandshake, TimeoutError):
                first = False  # could not open: live.js sees a close without a clean handshake
            else:
                page.connections += 1
                page.opened.append((time.monotonic(), self.ports[page.port_index]))
                delay_ms = FIRST_DELAY_MS  # live.js's "open" handler
                try:
                    await self._read(page, socket)
                    clean, code = True, socket.close_code
                except ConnectionClosed as closed:
                    clean = closed.rcvd is not None and closed.sent is not None
                    code = closed.rcvd.code if closed.rcvd else None
                finally:
                    if self.stopping:
                        await socket.close()
                page.close_codes.append(code)
            if self.stopping:
                return
            if code == CLOSE_UNAUTHENTICATED:
                page.ended = True
                return
            if not clean:
                page.lost.append(time.monotonic())
                page.port_index = (page.port_index + 1) % len(self.ports)  # the balancer's choice
            wait, delay_ms = retry_wait(delay_ms, clean=clean, rng=self.rng)
            page.planned.append(time.monotonic() + wait)
            await asyncio.sleep(wait)

    async def _read(self, page: Page, socket: ClientConnection) -> None:
        connection = page.connections
        waiting: deque[CatchUp] = deque()  # sent on this connection, not answered yet
        await self._catch_up(page, socket, connection, "open", waiting)
        async for raw in socket:
            message = json.loads(raw)
            event, payload = message.get("event"), message.get("payload") or {}
            if event == "tweet.new":
                page.live += 1
                self._keep(page, payload["id"])
            elif event == "tweet.catch_up":
                request = waiting.popleft()
                request.answered_at, request.tweets = time.monotonic(), len(payload["tweets"])
                for tweet in payload["tweets"]:
                    self._keep(page, tweet["id"])
            elif event == "live.catch_up":
                page.told.append((time.monotonic(), connection))
                within = float(payload.get("within_ms") or 0) / 1000
                self._spawn(self._catch_up_later(page, socket, connection, within, waiting))

    async def _catch_up_later(
        self, page: Page, socket: ClientConnection, connection: int, within: float, waiting: deque[CatchUp]
    ) -> None:
        wait = self.rng.random() * within
        page.planned.append(time.monotonic() + wait)
        await asyncio.sleep(wait)
        if socket.state is State.OPEN:  # live.js's send() does nothing on a closed socket
            with contextlib.suppress(ConnectionClosed):
                await self._catch_up(page, socket, connection, "told", waiting)

    async def _catch_up(
        self, page: Page, socket: ClientConnection, connection: int, why: str, waiting: deque[CatchUp]
    ) -> None:
        request = CatchUp(page.index, connection, why, time.monotonic())
        waiting.append(request)
        self.catch_ups.append(request)
        await socket.send(json.dumps({"type": "catch_up", "after": max(page.held, default=0)}))

    @staticmethod
    def _keep(page: Page, tweet_id: int) -> None:
        if tweet_id in page.held:  # timeline.js shows a tweet once
            page.duplicates_skipped += 1
        else:
            page.held[tweet_id] = time.monotonic()
