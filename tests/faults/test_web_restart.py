"""Issue 9 (e): the web process is restarted (SIGTERM, then SIGKILL) while websockets are open.

Injected: the uvicorn process stopped under open sockets, tweets posted while it is down (in this
process, through tweets.services: the outbox and the worker fan them out, and their live events go
to nobody), then the process started again on the same port. Observed: each client, reconnecting the
way static/js/live.js and timeline.js do (on close, reconnect with backoff, then send
{"type": "catch_up", "after": <newest id it has>} and skip ids it already shows), ends up with every
tweet of its home timeline, none missed and none shown twice, and gets tweets live again afterwards.
"""

from __future__ import annotations

import json
import random
import signal
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect
from websockets.typing import Origin

from accounts.models import User
from devstack.servers import Redis
from follows.services import follow_create
from tests.factories import make_user
from tests.faults.conftest import Site, Visitor, tweet_ids_in, wait_for, write_summary
from tests.oracles import home_timeline_oracle as oracle
from timelines import store
from tweethub import presence
from tweets.services import tweet_create

FOLLOWERS = 3
TABS = {0: 2}  # the first follower has the home page open in two tabs
# live.js waits 1 s doubling to 30 s (with jitter) between attempts; the same shape, scaled down so the
# test does not wait out a 30 s backoff.
FIRST_DELAY, MAX_DELAY = 0.2, 2.0


@dataclass
class LiveClient:
    """One open home page: live.js's socket loop and timeline.js's bookkeeping, in a thread."""

    url: str
    origin: str
    cookie: str
    shown: list[int]  # ids the page holds (loaded, or received and kept), each once
    name: str
    arrivals: list[tuple[int, str, int]] = field(default_factory=list)  # (connection, how, id)
    close_codes: list[int | None] = field(default_factory=list)
    connections: int = 0
    disconnects: int = 0
    skipped: int = 0  # arrivals of a tweet the page already showed (catch-up overlap), not shown again
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

    def holds(self, tweet_ids: set[int]) -> bool:
        with self.lock:
            return tweet_ids <= set(self.shown)

    def _keep(self, how: str, tweet_id: int) -> None:
        with self.lock:
            self.arrivals.append((self.connections, how, tweet_id))
            if tweet_id in self.shown:  # timeline.js: a tweet the page shows is not queued again
                self.skipped += 1
            else:
                self.shown.append(tweet_id)

    def _run(self) -> None:
        delay = FIRST_DELAY
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
                        newest = max(self.shown, default=0)
                    delay = FIRST_DELAY
                    socket.send(json.dumps({"type": "catch_up", "after": newest}))
                    while not self.stop.is_set():
                        try:
                            message = json.loads(socket.recv(timeout=0.2))
                        except TimeoutError:
                            continue
                        if message["event"] == "tweet.new":
                            self._keep("live", message["payload"]["id"])
                        elif message["event"] == "tweet.catch_up":
                            for tweet in message["payload"]["tweets"]:
                                self._keep("catch_up", tweet["id"])
            except ConnectionClosed as closed:
                with self.lock:
                    self.close_codes.append(closed.rcvd.code if closed.rcvd else None)
                    self.disconnects += 1
            except (OSError, InvalidStatus, TimeoutError):
                pass  # refused while the server is down: try again later, as live.js does
            if self.stop.is_set():
                return
            time.sleep(delay + random.random() * delay * 0.5)  # jitter, as live.js
            delay = min(delay * 2, MAX_DELAY)


def _everyone_holds(clients: list[LiveClient], tweet_ids: set[int], what: str) -> None:
    wait_for(lambda: all(client.holds(tweet_ids) for client in clients), timeout=60, what=what)


def _fanned_out(followers: list[User], tweet_ids: set[int]) -> bool:
    """The worker wrote these tweets into every follower's feed (and then sent their live event)."""
    for follower in followers:
        page = store.page(user_id=follower.pk, before=None, limit=50)
        if page is None or not tweet_ids <= set(page.ids):
            return False
    return True


@pytest.mark.timeout(240)
def test_web_restarted_under_open_websockets_clients_catch_up_on_every_tweet_once(
    site: Site, on_fault_redis: Redis
) -> None:
    author = make_user("speaker")
    followers = [make_user(f"listener{i}") for i in range(FOLLOWERS)]
    for follower in followers:
        follow_create(follower=follower, followee=author)
    posted = [tweet_create(author=author, text=f"before the sockets {n}").id for n in range(2)]

    site.start_worker(beat=True, env={"OUTBOX_RELAY_SECONDS": "1", "OUTBOX_GRACE_SECONDS": "1"})
    site.start_web()
    clients: list[LiveClient] = []
    owners: list[User] = []  # whose page each client is
    for i, follower in enumerate(followers):
        visitor = Visitor(site.url)
        visitor.log_in(follower.username)
        for tab in range(TABS.get(i, 1)):
            page = visitor.get("/")
            assert page.status == 200
            cookie = f"sessionid={visitor.cookie('sessionid')}"
            name = f"{follower.username}-tab{tab}"
            url = f"ws://127.0.0.1:{site.port}/ws/"
            clients.append(
                LiveClient(url=url, origin=site.url, cookie=cookie, shown=tweet_ids_in(page.body), name=name)
            )
            owners.append(follower)
    sockets = len(clients)
    for client in clients:
        client.start()
    wait_for(lambda: presence.open_sockets() == sockets, timeout=30, what="every socket to register")
    _everyone_holds(clients, set(posted), "the first page's tweets")

    figures: dict[str, Any] = {"sockets": sockets, "followers": FOLLOWERS}
    for how in (signal.SIGTERM, signal.SIGKILL):
        label = signal.Signals(how).name
        posted.append(tweet_create(author=author, text=f"live before {label}").id)
        _everyone_holds(clients, set(posted), f"the live tweet before {label}")

        connections = [client.connections for client in clients]
        site.stop_web(how)
        wait_for(
            lambda: all(client.disconnects == client.connections for client in clients),
            timeout=30,
            what=f"every socket to see the close ({label})",
        )
        if how == signal.SIGTERM:
            # A graceful stop closes each socket through the consumer, which leaves presence. (A killed
            # process cannot: its sockets stay counted, see the figures.)
            wait_for(lambda: presence.open_sockets() == 0, timeout=10, what="presence to drop the closed sockets")
        figures[f"open_sockets_in_presence_after_{label}"] = presence.open_sockets()
        while_down = [tweet_create(author=author, text=f"while down after {label} {n}").id for n in range(2)]
        posted += while_down
        wait_for(partial(_fanned_out, followers, set(while_down)), timeout=60, what="the fan-out while down")

        site.start_web()
        _everyone_holds(clients, set(posted), f"every client to catch up after {label}")
        assert all(
            client.connections > before for client, before in zip(clients, connections, strict=True)
        )  # each one reconnected
        posted.append(tweet_create(author=author, text=f"live after {label}").id)
        _everyone_holds(clients, set(posted), f"the live tweet after {label}")
        figures[f"open_sockets_in_presence_after_{label}_and_reconnect"] = presence.open_sockets()

    for client in clients:
        client.finish()

    # Every client ends with exactly its home timeline: no tweet missed, none shown twice.
    for client, follower in zip(clients, owners, strict=True):
        assert sorted(client.shown, reverse=True) == oracle(follower.pk), client.name
        assert len(client.shown) == len(set(client.shown))
        # The server never sent one connection the same live tweet twice.
        live = Counter((connection, tweet_id) for connection, how, tweet_id in client.arrivals if how == "live")
        assert max(live.values()) == 1, client.name

    arrivals = [arrival for client in clients for arrival in client.arrivals]
    figures.update(
        tweets_posted=len(posted),
        tweets_posted_while_down=4,
        tweets_per_client_in_the_end=sorted({len(client.shown) for client in clients}),
        reconnections=sum(client.connections - 1 for client in clients),
        close_codes=sorted({str(code) for client in clients for code in client.close_codes}),
        received_live=sum(1 for _, how, _ in arrivals if how == "live"),
        received_by_catch_up=sum(1 for _, how, _ in arrivals if how == "catch_up"),
        duplicates_skipped_by_the_client=sum(client.skipped for client in clients),
    )
    write_summary("web_restart", figures)
