"""The chaos test's machinery (tests/faults/test_chaos.py): the whole site under honcho on servers
of the test's own, the traffic and open pages of chaos_traffic, faults injected and timed, and the
final accounting against Postgres (chaos_probe).

Recovery from a fault is measured, never assumed: /healthz answers 200 again (Postgres, Redis, the
broker and a worker all answer) and a tweet posted after the fault reached a reader's socket live
(web, outbox, broker, worker, fan-out, pub/sub and the socket all work again).
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pytest

from devstack.servers import Postgres, Redis
from tests.faults.chaos_traffic import Ledger, LivePage, Op, Person
from tests.faults.conftest import ARTIFACTS, ROOT, Visitor, _free_port, raw_client, site_environment, wait_for
from timelines.store.keys import feed_key
from tweethub.celery import queue_depth

VOICES = ["v0", "v1", "v2"]  # tweet
MOVERS = ["m0", "m1", "m2"]  # follow and unfollow the voices; message their reader over HTTP
READERS = ["r0", "r1", "r2"]  # home page and a conversation with their mover open; message over the socket
TWEET_EVERY, FOLLOW_EVERY, DM_EVERY = 1.5, 2.0, 3.0  # seconds between writes, per person and kind
STEADY = 5.0  # seconds of traffic before the first fault and after each recovery
RECOVERY_LIMIT = 150.0  # a fault the site has not recovered from by then fails the test
STARTED = re.compile(r"^\S+ (web|worker|beat)\.1\s+\| (?:web|worker|beat) started \(pid (\d+)\)$", re.MULTILINE)


def reader_follows(reader: str) -> list[str]:
    """Each reader follows two of the three voices, a set that never changes: what should reach
    its home page is then exactly its home timeline."""
    return [voice for voice in VOICES if voice[1:] != reader[1:]]


# --- The site ----------------------------------------------------------------------------------------


@dataclass
class ChaosSite:
    """`make run`'s processes (honcho on the real Procfile) on a Postgres and a Redis of the test's own."""

    postgres: Postgres
    redis_server: Redis
    env: dict[str, str]
    port: int
    log: Path
    process: subprocess.Popen[bytes] | None = None
    user_ids: dict[str, int] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def pids(self, name: str) -> list[int]:
        """The pids `name` was started with, in order (respawn's "worker started (pid N)" lines)."""
        return [int(pid) for role, pid in STARTED.findall(self.output()) if role == name]

    def running(self, predicate: Callable[[], bool]) -> Callable[[], bool]:
        """`predicate`, failing the test at once if honcho stopped (it would stop everything)."""

        def poll() -> bool:
            if self.process is None or self.process.poll() is not None:
                pytest.fail(f"honcho stopped:\n{self.output()[-4000:]}")
            return predicate()

        return poll

    def probe(self, command: str, request: dict[str, Any]) -> Any:
        """tests.faults.chaos_probe in a process of its own, on this site's servers."""
        done = subprocess.run(
            [sys.executable, "-m", "tests.faults.chaos_probe", command],
            input=json.dumps(request).encode(), cwd=ROOT, env=self.env, capture_output=True, timeout=120, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr.decode(errors="replace")[-3000:]
        return json.loads(done.stdout)

    def outbox_size(self) -> int:
        with psycopg.connect(host=str(self.postgres.socket_dir), dbname=self.postgres.database, user="postgres") as db:
            row = db.execute("SELECT count(*) FROM tweethub_outboxtask").fetchone()
            return int(row[0]) if row else 0


@contextlib.contextmanager
def chaos_site(redis_server: Redis, folder: Path, extra_env: dict[str, str] | None = None) -> Iterator[ChaosSite]:
    """Postgres started, migrated and given the people; honcho started on the Procfile (not yet
    waited for). Everything stopped afterwards; honcho's console kept in tests/artifacts/faults/."""
    # As root, Postgres runs as an unprivileged user who cannot enter pytest's private tmp folders:
    # the cluster lives under .local/ (as test_postgres_restart's does).
    (ROOT / ".local").mkdir(exist_ok=True)
    cluster = Path(tempfile.mkdtemp(prefix="chaos-", dir=ROOT / ".local"))
    postgres = Postgres(
        name="chaos-postgres",
        log_path=cluster / "postgres.log",
        data_dir=cluster / "pgdata",
        socket_dir=cluster / "pgsock",
        database="chaos",
        durable=False,
    )
    port = _free_port()
    env = site_environment(redis_server, folder)
    env.update(
        HOST="127.0.0.1",
        PORT=str(port),
        PYTHONPATH=str(ROOT),
        # `make run` puts the venv first on PATH: the Procfile's python, uvicorn and celery.
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
        # The movers follow and unfollow every 2 s: the limit is not what this test is about.
        RATE_LIMIT_FOLLOWS_PER_USER="100000/1h",
        **(extra_env or {}),
    )
    site = ChaosSite(postgres=postgres, redis_server=redis_server, env=env, port=port, log=folder / "honcho.log")
    try:
        postgres.start()
        env["DATABASE_URL"] = postgres.url
        subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)
        follows = [[reader, voice] for reader in READERS for voice in reader_follows(reader)]
        site.user_ids = site.probe("setup", {"users": VOICES + MOVERS + READERS, "follows": follows})
        (folder / ".local").mkdir()  # beat's schedule file: .local/ of the working directory
        with site.log.open("wb") as out:
            site.process = subprocess.Popen(
                [str(Path(sys.executable).parent / "honcho"), "--procfile", str(ROOT / "Procfile"), "--no-colour",
                 "start"],
                cwd=folder, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        yield site
    finally:
        process = site.process
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(5)
        if site.log.exists():
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            shutil.copy(site.log, ARTIFACTS / "chaos-honcho.log")
        postgres.stop()
        shutil.rmtree(cluster, ignore_errors=True)


# --- Watching ----------------------------------------------------------------------------------------


@dataclass
class HealthPoller:
    """/healthz every 0.5 s, in a thread: (started, status)."""

    url: str
    answers: list[tuple[float, int]] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def start(self) -> None:
        threading.Thread(target=self._run, name="healthz", daemon=True).start()

    def _run(self) -> None:
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        while not self.stop.is_set():
            started = time.monotonic()
            try:
                with opener.open(self.url + "/healthz", timeout=10) as response:
                    status = int(response.status)
            except urllib.error.HTTPError as error:
                status = error.code
            except OSError:
                status = 0
            self.answers.append((started, status))
            self.stop.wait(0.5)

    def healthy_after(self, since: float) -> float | None:
        """When a /healthz request started after `since` first answered 200."""
        return next((at for at, status in list(self.answers) if at >= since and status == 200), None)


def _answers(url: str) -> bool:
    try:
        with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(url + "/livez", timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with contextlib.suppress(OSError):  # a zombie (dead, not yet reaped) counts as gone
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    return False


@dataclass
class Fault:
    name: str
    # Injects the fault and returns once what failed is back (a server started again, the
    # supervisor's new process started), with figures of its own.
    inject: Callable[[], dict[str, Any]]
    at: float = 0.0
    back_at: float = 0.0
    figures: dict[str, Any] = field(default_factory=dict)


# --- The run -----------------------------------------------------------------------------------------


@dataclass
class ChaosRun:
    site: ChaosSite
    ledger: Ledger = field(default_factory=Ledger)
    visitors: dict[str, Visitor] = field(default_factory=dict)
    homes: list[LivePage] = field(default_factory=list)
    conversations: list[LivePage] = field(default_factory=list)
    threads: list[threading.Thread] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    faults: list[Fault] = field(default_factory=list)
    # Broker delivery tags a killed worker held (delivered, not acknowledged) when it died.
    orphaned: dict[bytes, str] = field(default_factory=dict)
    started: float = field(default_factory=time.monotonic)
    figures: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.broker = raw_client(self.site.redis_server)
        self.health = HealthPoller(self.site.url)

    @property
    def pages(self) -> list[LivePage]:
        return self.homes + self.conversations

    # -- start-up --

    def wait_for_site(self) -> None:
        site = self.site
        wait_for(
            site.running(lambda: _answers(site.url) and "ready." in site.output() and "beat: Starting..." in site.output()),
            timeout=180, interval=0.5, what="web, worker and beat to start under honcho",
        )  # fmt: skip
        self.figures["site_start_s"] = round(time.monotonic() - self.started, 1)

    def open_pages(self) -> None:
        """Everyone logs in and loads the home page (which queues the build of their feed); the
        feeds are built before the readers' sockets open, as on a site in use."""
        site, ids = self.site, self.site.user_ids
        for username in VOICES + MOVERS + READERS:
            visitor = self.visitors[username] = Visitor(site.url)
            visitor.log_in(username)
            assert visitor.get("/").status == 200
        wait_for(
            lambda: all(self.broker.exists(feed_key(user_id)) for user_id in ids.values()),
            timeout=60, interval=0.2, what="every user's feed to be built",
        )  # fmt: skip
        ws_url = f"ws://127.0.0.1:{site.port}/ws/"
        for reader, mover in zip(READERS, MOVERS, strict=True):
            visitor = self.visitors[reader]
            cookie = f"sessionid={visitor.cookie('sessionid')}"
            assert visitor.get(f"/messages/{mover}/").status == 200
            self.homes.append(LivePage(name=f"{reader}-home", url=ws_url, origin=site.url, cookie=cookie))
            self.conversations.append(
                LivePage(name=reader, url=ws_url, origin=site.url, cookie=cookie, other=mover, ledger=self.ledger)
            )
        for page in self.pages:
            page.start()
        wait_for(lambda: all(page.open() for page in self.pages), timeout=30, what="every page's socket to open")

    def start_traffic(self) -> None:
        rng = random.Random(17)
        people = {
            name: Person(name, self.visitors[name], self.ledger, self.stop, random.Random(rng.random()))
            for name in VOICES + MOVERS + READERS
        }
        for voice in VOICES:
            self.threads.append(people[voice].every(TWEET_EVERY, people[voice].tweet))
        for mover, reader in zip(MOVERS, READERS, strict=True):
            person = people[mover]
            self.threads.append(person.every(FOLLOW_EVERY, lambda person=person: person.toggle_follow(VOICES)))
            self.threads.append(person.every(DM_EVERY, lambda person=person, to=reader: person.message(to)))
        for reader, page in zip(READERS, self.conversations, strict=True):
            self.threads.append(
                people[reader].every(
                    DM_EVERY, lambda page=page, reader=reader: page.send_dm(self.ledger.token(reader))
                )
            )
        self.health.start()
        self.figures["traffic_started"] = time.monotonic()

    # -- faults --

    def restart_redis(self) -> dict[str, Any]:
        server = self.site.redis_server
        server.stop()
        time.sleep(1.0)
        server.start()
        return {}

    def restart_postgres(self) -> dict[str, Any]:
        self.site.postgres.stop()
        self.site.postgres.start()
        return {}

    def kill(self, role: str) -> dict[str, Any]:
        pid = self.site.pids(role)[-1]
        started = len(self.site.pids(role))
        os.kill(pid, signal.SIGKILL)
        wait_for(lambda: not _alive(pid), timeout=10, interval=0.01, what=f"the {role} process to die")
        held = self._held_by_the_dead() if role == "worker" else {}
        # Until devstack.respawn starts the new process, what the dead one left may still run
        # (uvicorn's worker processes serve on until respawn stops them).
        wait_for(
            lambda: len(self.site.pids(role)) > started, timeout=90, interval=0.05, what=f"respawn to start {role}"
        )
        return {"tasks_the_killed_worker_held": sorted(held.values())} if role == "worker" else {}

    def _held_by_the_dead(self) -> dict[bytes, str]:
        # What the dead worker had taken from the queue and not acknowledged (acks_late): it comes
        # back only after the broker's visibility timeout (kombu's Redis transport).
        held: dict[bytes, str] = {}
        unacked: dict[bytes, bytes] = self.broker.hgetall("unacked")  # type: ignore[assignment]
        for tag, raw in unacked.items():
            with contextlib.suppress(ValueError, KeyError, IndexError, TypeError):
                held[tag] = json.loads(raw)[0]["headers"]["task"]
        self.orphaned.update(held)
        return held

    def inject(self, fault: Fault) -> None:
        """Inject, then wait (bounded) until the site has recovered by itself; record the figures."""
        fault.at = time.monotonic()
        fault.figures = fault.inject()
        fault.back_at = time.monotonic()
        fault.figures["back_s"] = round(fault.back_at - fault.at, 1)
        self.faults.append(fault)

        def recovered() -> bool:
            return self.health.healthy_after(fault.back_at) is not None and self._first_live_tweet(fault) is not None

        wait_for(
            self.site.running(recovered), timeout=RECOVERY_LIMIT, interval=0.2, what=f"recovery from {fault.name}"
        )
        live_at, healthy_at = self._first_live_tweet(fault), self.health.healthy_after(fault.back_at)
        assert live_at is not None
        assert healthy_at is not None
        back = max(live_at, healthy_at)
        during = [op for op in self.ledger.snapshot() if fault.at <= op.started <= back]
        accepted = [op.ended for op in during if op.accepted]
        fault.figures.update(
            first_accepted_write_s=round(min(accepted) - fault.at, 1) if accepted else None,
            healthz_200_again_s=round(healthy_at - fault.at, 1),
            first_new_tweet_live_s=round(live_at - fault.at, 1),
            recovered_s=round(back - fault.at, 1),
            writes_until_recovered=len(during),
            writes_refused_until_recovered=sum(1 for op in during if not op.accepted),
        )
        if fault.name.startswith("worker"):
            fault.figures["of_those_still_unacknowledged_when_recovered"] = sum(
                1 for tag in self.orphaned if self.broker.hexists("unacked", tag)
            )

    def _first_live_tweet(self, fault: Fault) -> float | None:
        """When a tweet posted after the fault first reached a home page live, from what came back."""
        posted = {op.text for op in self.ledger.snapshot() if op.kind == "tweet" and op.started >= fault.at}
        times = [
            arrival.at
            for page in self.homes
            for arrival in list(page.arrivals)
            if arrival.how == "live" and arrival.token in posted and arrival.at >= fault.back_at
        ]
        return min(times, default=None)

    # -- the end --

    def _broker_idle(self) -> bool:
        """No task queued, none being run; a dead worker's unacknowledged tasks aside (reported)."""
        if queue_depth(self.broker) != 0:
            return False
        return set(self.broker.hkeys("unacked")) <= set(self.orphaned)

    def settle(self) -> None:
        """Stop the traffic, let what was queued drain (the outbox relay sends what a broker outage
        held back), then let every user load the home page: a feed Redis lost is rebuilt, as any
        visit does. Waits are bounded; what did not settle shows in the checks."""
        self.figures["traffic_s"] = round(time.monotonic() - self.figures.pop("traffic_started"), 1)
        self.stop.set()
        for thread in self.threads:
            thread.join(40)
        started = time.monotonic()
        with contextlib.suppress(pytest.fail.Exception):
            wait_for(
                lambda: all(page.outgoing.empty() for page in self.conversations), timeout=10, what="the last sends"
            )
            wait_for(
                lambda: self.site.outbox_size() == 0 and self._broker_idle(),
                timeout=90, interval=0.5, what="the outbox and the broker to drain",
            )  # fmt: skip
        for username, visitor in self.visitors.items():
            assert visitor.get("/").status == 200, username
        ids = self.site.user_ids.values()
        with contextlib.suppress(pytest.fail.Exception):
            wait_for(
                lambda: self._broker_idle() and all(self.broker.exists(feed_key(user_id)) for user_id in ids),
                timeout=60, interval=0.5, what="the feeds to be rebuilt",
            )  # fmt: skip
        self.figures["settle_s"] = round(time.monotonic() - started, 1)

    def verify(self) -> dict[str, Any]:
        """Everything accepted is in Postgres, every home timeline equals SQL, every open page holds
        all it should. Returns the summary; summary["items_lost"] must be 0."""
        ids = self.site.user_ids
        state = self.site.probe("check", {"user_ids": list(ids.values())})
        ops = self.ledger.snapshot()

        tweets_in_db = {text.split()[0] for _, _, text in state["tweets"]}
        messages_in_db = {text for _, _, _, text in state["messages"]}
        lost_tweets = [op.text for op in ops if op.kind == "tweet" and op.accepted and op.text not in tweets_in_db]
        lost_messages = [
            op.text for op in ops if op.kind in ("dm", "dm.socket") and op.accepted and op.text not in messages_in_db
        ]

        # A follow or unfollow whose answer was lost (no answer, a 5xx) may or may not have happened.
        follows_in_db = {(follower, followee) for follower, followee in state["follows"]}
        known, unknown = {}, 0
        for mover in MOVERS:
            for voice in VOICES:
                pair = [op for op in ops if op.actor == mover and op.target == voice and op.kind.endswith("follow")]
                last = max((i for i, op in enumerate(pair) if op.accepted), default=-1)
                if any(op.status == 0 or op.status >= 500 for op in pair[last + 1 :]):
                    unknown += 1
                elif last >= 0:
                    known[(mover, voice)] = pair[last].kind == "follow"
        wrong_follows = [
            f"{mover}->{voice}"
            for (mover, voice), follows in known.items()
            if ((ids[mover], ids[voice]) in follows_in_db) != follows
        ]

        timelines = state["timelines"]
        wrong_timelines = {}
        for username, user_id in ids.items():
            timeline = timelines[str(user_id)]
            if timeline["home"] != timeline["oracle"]:
                home, oracle = set(timeline["home"]), set(timeline["oracle"])
                wrong_timelines[username] = {"missing": sorted(oracle - home), "extra": sorted(home - oracle)}

        # Open pages: the reader's whole home timeline; the whole conversation.
        pairs = {conversation: {low, high} for conversation, low, high in state["conversations"]}

        def expected(page: LivePage) -> set[int]:
            reader = page.name.split("-")[0]
            if page.other:
                ends = {ids[reader], ids[page.other]}
                return {message for message, _, conversation, _ in state["messages"] if pairs[conversation] == ends}
            return set(timelines[str(ids[reader])]["oracle"])

        want = {page.name: expected(page) for page in self.pages}
        with contextlib.suppress(pytest.fail.Exception):
            wait_for(lambda: all(want[page.name] <= page.holds() for page in self.pages), timeout=30, what="the pages")
        for page in self.pages:
            page.finish()
        self.health.stop.set()
        missed = {page.name: sorted(want[page.name] - page.holds()) for page in self.pages}
        unexpected = {page.name: sorted(page.holds() - want[page.name]) for page in self.pages}

        lost = (
            len(lost_tweets)
            + len(lost_messages)
            + len(wrong_follows)
            + sum(len(wrong["missing"]) + len(wrong["extra"]) for wrong in wrong_timelines.values())
            + sum(len(items) for items in missed.values())
        )
        arrivals = [arrival for page in self.pages for arrival in page.arrivals]
        first_by_catch_up = {
            (page.name, item)
            for page in self.pages
            for item in page.holds()
            if next(a.how for a in page.arrivals if a.item_id == item) == "catch_up"
        }
        output = self.site.output()
        kinds = ("tweet", "follow", "unfollow", "dm", "dm.socket")
        return {
            **self.figures,
            "run_s": round(time.monotonic() - self.started, 1),
            "requests_accepted": sum(1 for op in ops if op.accepted),
            "requests": {
                kind: [
                    sum(1 for op in ops if op.kind == kind and op.accepted),
                    sum(1 for op in ops if op.kind == kind),
                ]
                for kind in kinds
            },
            "faults_injected": len(self.faults),
            "faults": {fault.name: fault.figures for fault in self.faults},
            "items_lost": lost,
            "lost": {
                "tweets_not_in_postgres": lost_tweets,
                "messages_not_in_postgres": lost_messages,
                "follows_not_as_accepted": wrong_follows,
                "home_timelines_not_equal_to_sql": wrong_timelines,
                "items_an_open_page_never_got": {name: items for name, items in missed.items() if items},
            },
            "items_on_pages_not_expected": {name: items for name, items in unexpected.items() if items},
            "tweets_in_postgres": len(state["tweets"]),
            "messages_in_postgres": len(state["messages"]),
            "follow_pairs_checked": len(known),
            "follow_pairs_outcome_unknown": unknown,
            "users": len(ids),
            "feeds_in_redis_at_check": sum(1 for timeline in timelines.values() if timeline["feed_exists"]),
            "open_pages": len(self.pages),
            "page_reconnections": sum(page.connections - 1 for page in self.pages),
            "items_received_live": sum(1 for arrival in arrivals if arrival.how == "live"),
            "items_received_by_catch_up": sum(1 for arrival in arrivals if arrival.how == "catch_up"),
            "items_first_received_by_catch_up": len(first_by_catch_up),
            "largest_catch_up": max((size for page in self.pages for size in page.catch_up_sizes), default=0),
            # tweethub.worker_recovery's ledger: tasks sent and not yet started (0 once drained).
            "tasks_sent_never_started": int(self.broker.hlen("tasks:sent")),
            "tasks_left_unacknowledged_by_killed_workers": sum(
                1 for tag in self.orphaned if self.broker.hexists("unacked", tag)
            ),
            "respawns": re.findall(r"(\w+ exited \(signal \d+\) after \d+ s)", output),
            # tweethub.worker_recovery at each new worker's start: what the killed one left.
            "worker_recovery": re.findall(r"((?:took back|sent again) \d+ task\(s\))", output),
            "missing_items_explained": self._explain(missed, wrong_timelines, state, ops),
        }

    def _explain(
        self,
        missed: dict[str, list[int]],
        wrong: dict[str, dict[str, list[int]]],
        state: dict[str, Any],
        ops: list[Op],
    ) -> list[dict[str, Any]]:
        """For each tweet a page or a timeline lacks: when it was posted relative to the nearest
        fault, and which users' Redis feeds hold it (a fan-out that never ran leaves holes)."""
        missing = {item for items in missed.values() for item in items}
        missing |= {item for timeline in wrong.values() for item in timeline["missing"]}
        posted = {op.text: op for op in ops if op.kind == "tweet"}
        token_of = {tweet_id: text.split()[0] for tweet_id, _, text in state["tweets"]}
        explained = []
        for item in sorted(missing):
            op = posted.get(token_of.get(item, ""))
            if op is None:
                continue  # a message, or a tweet not by the traffic
            nearest = min(self.faults, key=lambda fault: abs(fault.at - op.ended), default=None)
            pipe = self.broker.pipeline(transaction=False)
            for user_id in self.site.user_ids.values():
                pipe.zscore(feed_key(user_id), item)
            held = [name for name, score in zip(self.site.user_ids, pipe.execute(), strict=True) if score is not None]
            explained.append(
                {
                    "tweet": item,
                    "by": op.actor,
                    "accepted_s_after_the_nearest_fault": round(op.ended - nearest.at, 3) if nearest else None,
                    "nearest_fault": nearest.name if nearest else None,
                    "feeds_holding_it": held,
                }
            )
        return explained
