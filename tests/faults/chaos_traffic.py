"""Steady traffic for the chaos test (tests/faults/test_chaos.py): people posting tweets, following
and unfollowing, sending direct messages over HTTP and over the websocket, and open pages reading
their socket the way the browser does. Every request is recorded with what it was, when it started
and ended and how it was answered, so the test can tell which writes the site accepted.

An open page (`LivePage`) is static/js/live.js with timeline.js (the home page) or messages.js (a
conversation): on every (re)connection it asks for what it missed since the newest item it holds
({"type": "catch_up", "after": id} or {"type": "dm.catch_up", "with": name, "after": id}), keeps
each item once, whether it came live or by catch-up, asks again after a random delay within the
server's spread when told to catch up ("live.catch_up"), and reconnects with a jittered, doubling
delay (live.js's 1 s to 30 s, scaled down to 0.2 s to 2 s so the test does not sit out a 30 s
backoff). It never reloads the page: what it holds in the end came over the socket.
"""

from __future__ import annotations

import json
import queue
import random
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect
from websockets.typing import Origin

from tests.faults.conftest import Visitor

FIRST_DELAY, MAX_DELAY = 0.2, 2.0
# Every text the traffic writes carries one of these, so the test can find it in Postgres and in
# what a socket received (tweet HTML is escaped, but these characters need no escaping).
TOKEN = re.compile(r"chaos-[a-z0-9]+-n[0-9]+")


@dataclass(frozen=True)
class Op:
    """One write a person attempted: over HTTP (status 302 = accepted, 0 = no answer at all) or
    over the socket (dm.send: 302 once dm.sent came back, 0 when the socket closed first)."""

    kind: str  # "tweet", "follow", "unfollow", "dm", "dm.socket"
    actor: str
    target: str  # the followee, the DM's recipient; "" for a tweet
    text: str  # the unique token for tweets and DMs, "" for follows
    status: int
    started: float  # time.monotonic()
    ended: float

    @property
    def accepted(self) -> bool:
        return self.status == 302


@dataclass
class Ledger:
    """Every write of the run, in the order they ended."""

    ops: list[Op] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    counter: int = 0

    def token(self, actor: str) -> str:
        with self.lock:
            self.counter += 1
            return f"chaos-{actor}-n{self.counter}"

    def record(self, op: Op) -> None:
        with self.lock:
            self.ops.append(op)

    def snapshot(self) -> list[Op]:
        with self.lock:
            return list(self.ops)


@dataclass(frozen=True)
class Arrival:
    connection: int  # which connection of the page (1 = the first)
    how: str  # "live" or "catch_up"
    item_id: int
    token: str  # the traffic token in its text, "" if none
    at: float  # time.monotonic()


@dataclass
class LivePage:
    """One open page and its socket loop, in a thread. `other` set: a conversation page with that
    person (messages); else the home page (tweets)."""

    name: str
    url: str
    origin: str
    cookie: str
    other: str = ""
    held: list[int] = field(default_factory=list)  # item ids the page shows, each once
    arrivals: list[Arrival] = field(default_factory=list)
    close_codes: list[int | None] = field(default_factory=list)
    connections: int = 0
    catch_up_sizes: list[int] = field(default_factory=list)
    outgoing: queue.Queue[tuple[str, float]] = field(default_factory=queue.Queue)  # (token, queued at)
    ledger: Ledger | None = None
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    thread: threading.Thread | None = None

    def start(self) -> None:
        self.thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self.thread.start()

    def finish(self) -> None:
        self.stop.set()
        assert self.thread is not None
        self.thread.join(15)
        assert not self.thread.is_alive(), f"{self.name} is stuck"

    def open(self) -> bool:
        with self.lock:
            return self.connections > len(self.close_codes)

    def holds(self) -> set[int]:
        with self.lock:
            return set(self.held)

    def send_dm(self, token: str) -> None:
        """Queue a message to `other`, sent by the socket's own thread (messages.js's form)."""
        self.outgoing.put((token, time.monotonic()))

    def _keep(self, how: str, item_id: int, html: str) -> None:
        found = TOKEN.search(html)
        with self.lock:
            self.arrivals.append(
                Arrival(self.connections, how, item_id, found.group(0) if found else "", time.monotonic())
            )
            if item_id not in self.held:  # a page shows each tweet or message once
                self.held.append(item_id)

    def _catch_up_request(self) -> dict[str, Any]:
        newest = max(self.holds(), default=0)
        if self.other:
            return {"type": "dm.catch_up", "with": self.other, "after": newest}
        return {"type": "catch_up", "after": newest}

    def _on_message(self, message: dict[str, Any], sent: dict[str, tuple[str, float]]) -> None:
        event, payload = message.get("event"), message.get("payload") or {}
        if not self.other:
            if event == "tweet.new":
                self._keep("live", payload["id"], payload["html"])
            elif event == "tweet.catch_up":
                self.catch_up_sizes.append(len(payload["tweets"]))
                for tweet in payload["tweets"]:
                    self._keep("catch_up", tweet["id"], tweet["html"])
            return
        if payload.get("with") != self.other:
            return
        if event == "dm.new":
            self._keep("live", payload["id"], payload["text"])
        elif event == "dm.catch_up":
            self.catch_up_sizes.append(len(payload["messages"]))
            for item in payload["messages"]:
                self._keep("catch_up", item["id"], item["text"])
        elif event in ("dm.sent", "dm.error"):
            found = TOKEN.search(str(payload.get("text", "")))
            # dm.error carries no text: it answers the oldest send still waiting.
            key = found.group(0) if found and found.group(0) in sent else next(iter(sent), None)
            if key is not None:
                _, queued = sent.pop(key)
                self._record(key, 302 if event == "dm.sent" else 400, queued)

    def _record(self, token: str, status: int, started: float) -> None:
        if self.ledger is not None:
            self.ledger.record(Op("dm.socket", self.name, self.other, token, status, started, time.monotonic()))

    def _run(self) -> None:
        delay = FIRST_DELAY
        sent: dict[str, tuple[str, float]] = {}  # token -> (token, queued at): awaiting dm.sent
        while not self.stop.is_set():
            try:
                with connect(
                    self.url,
                    origin=Origin(self.origin),
                    additional_headers={"Cookie": self.cookie},
                    proxy=None,
                    open_timeout=5,
                    close_timeout=2,
                ) as socket:
                    with self.lock:
                        self.connections += 1
                    delay = FIRST_DELAY
                    socket.send(json.dumps(self._catch_up_request()))
                    due: float | None = None  # a catch-up the server asked for (live.catch_up)
                    while not self.stop.is_set():
                        if due is not None and time.monotonic() >= due:
                            socket.send(json.dumps(self._catch_up_request()))
                            due = None
                        while self.other and not self.outgoing.empty():
                            token, queued = self.outgoing.get()
                            sent[token] = (token, queued)
                            socket.send(json.dumps({"type": "dm.send", "to": self.other, "text": token}))
                        try:
                            raw = socket.recv(timeout=0.1)
                        except TimeoutError:
                            continue
                        message = json.loads(raw)
                        if message.get("event") == "live.catch_up":
                            # As live.js does: ask after a random delay within the server's spread.
                            within = float((message.get("payload") or {}).get("within_ms") or 0) / 1000
                            due = time.monotonic() + random.random() * within
                            continue
                        self._on_message(message, sent)
            except ConnectionClosed as closed:
                with self.lock:
                    self.close_codes.append(closed.rcvd.code if closed.rcvd else None)
            except (OSError, InvalidStatus, TimeoutError):
                pass  # refused while the server is down: try again later, as live.js does
            # A send the socket took but never answered: its outcome is unknown (not accepted).
            for token, (_, queued) in list(sent.items()):
                self._record(token, 0, queued)
            sent.clear()
            # live.js's send() returns false while the socket is closed: the form keeps the text.
            while self.other and not self.outgoing.empty():
                token, queued = self.outgoing.get()
                self._record(token, -1, queued)  # never sent
            if self.stop.is_set():
                return
            time.sleep(delay + random.random() * delay * 0.5)
            delay = min(delay * 2, MAX_DELAY)


@dataclass
class Person:
    """A logged-in browser that writes: its own thread runs one kind of traffic."""

    username: str
    visitor: Visitor
    ledger: Ledger
    stop: threading.Event
    rng: random.Random
    following: dict[str, bool] = field(default_factory=dict)  # what this person believes it follows

    def _post(self, kind: str, path: str, fields: dict[str, str], *, target: str = "", text: str = "") -> Op:
        started = time.monotonic()
        try:
            status = self.visitor.post(path, fields).status
        except KeyError:  # no CSRF cookie (cannot happen once logged in; kept as "no answer")
            status = 0
        op = Op(kind, self.username, target, text, status, started, time.monotonic())
        self.ledger.record(op)
        return op

    def tweet(self) -> Op:
        token = self.ledger.token(self.username)
        return self._post("tweet", "/tweets/", {"text": f"{token} says hello"}, text=token)

    def toggle_follow(self, candidates: list[str]) -> Op:
        target = self.rng.choice(candidates)
        kind = "unfollow" if self.following.get(target) else "follow"
        op = self._post(kind, f"/@{target}/{kind}/", {}, target=target)
        if op.accepted:
            self.following[target] = kind == "follow"
        return op

    def message(self, recipient: str) -> Op:
        token = self.ledger.token(self.username)
        return self._post("dm", f"/messages/{recipient}/", {"text": token}, target=recipient, text=token)

    def every(self, seconds: float, action: Any) -> threading.Thread:
        """Run `action()` every `seconds` (+-30%, so people do not move in step) until stopped."""

        def loop() -> None:
            self.stop.wait(self.rng.random() * seconds)
            while not self.stop.is_set():
                action()
                self.stop.wait(seconds * (0.7 + 0.6 * self.rng.random()))

        thread = threading.Thread(target=loop, name=f"{self.username}-traffic", daemon=True)
        thread.start()
        return thread
