"""docker-compose.yml's topology runs (issue 20, point 5), proven without Docker.

devstack/topology.py starts what the compose file describes, as real processes: HAProxy with the
compose proxy's own config in front of two web replicas (the Dockerfile's uvicorn command), the app
on PgBouncer in transaction mode (the compose pooling rules) before pytest-django's test database,
one Redis server per role with the compose file's maxmemory and eviction options, and one Celery
worker per worker service of the compose file, each with that service's queues. HAProxy and
PgBouncer are Debian's, fetched and unpacked without root (devstack/debian.py).

Then people use the site through the proxy only: log in, follow, open a websocket, tweet; the
follower's socket receives the tweet live and their home feed holds it, fanned out by the worker
that consumes the fan-out task's queue. Requests must have reached both replicas, and each Redis
server must hold its own role's keys and no other's.
"""

from __future__ import annotations

import json
import re
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis
from django.db import connection
from websockets.sync.client import connect
from websockets.typing import Origin

from adminpanel.rediskeys import families_of
from devstack import compose
from devstack.topology import Topology, running, worker_services
from tests.factories import make_user
from tests.faults.conftest import Visitor, tweet_ids_in, wait_for
from timelines.store.keys import feed_key
from tweethub.celery import app as celery_app
from tweethub.env import database_url_of
from tweethub.redis import Role

# The roles each server serves: the counters role lives with the feeds (FEEDS_REDIS_URL).
SERVED = {
    # The home feeds' own role (FEEDS_REDIS_URLS) defaults to the feeds server.
    "feeds": {Role.FEEDS, Role.COUNTERS, Role.FEED_SHARDS},
    "cache": {Role.CACHE},
    "channels": {Role.CHANNELS},
    "broker": {Role.BROKER},
}
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "deploy"
ACCESS_LINE = re.compile(r'"(GET|POST) (\S+) HTTP/1\.1" (\d{3})')


@pytest.fixture
def topology(transactional_db: None, tmp_path: Path) -> Iterator[Topology]:
    queues = [q for command in worker_services(compose.load({**_required()})).values()
              for q in command[command.index("-Q") + 1].split(",")]  # fmt: skip
    default_queue = str(celery_app.conf.task_default_queue)
    env = {
        "DEBUG": "0",
        "DEMO_MODE": "0",
        "DEMO_SEED": "0",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "MEDIA_ROOT": str(tmp_path / "media"),
        # Every request comes from one address: the limits are not what this test is about.
        "RATE_LIMIT_LOGIN_PER_IP": "100000/10m",
        "RATE_LIMIT_LOGIN_PER_ACCOUNT": "100000/10m",
    }
    with running(
        database_url=database_url_of(connection.settings_dict),
        folder=tmp_path,
        env=env,
        web_replicas=2,
        # Until the app routes its default work to a queue the compose file names, the `worker`
        # service also consumes the app's default queue here (else nothing would run it).
        extra_queues="" if default_queue in queues else default_queue,
    ) as started:
        yield started


def _required() -> dict[str, str]:
    return {"SECRET_KEY": "s" * 50, "POSTGRES_PASSWORD": "unused-here"}


def _requests_per_replica(topology: Topology) -> list[int]:
    """Requests other than the proxy's /livez checks in each replica's uvicorn access log."""
    counts = []
    for web in topology.webs:
        lines = [m for m in ACCESS_LINE.finditer(web.output()) if m.group(2) != "/livez"]
        counts.append(len(lines))
    return counts


def _receive(socket: Any, event: str, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        message = json.loads(socket.recv(timeout=max(0.1, deadline - time.monotonic())))
        if message.get("event") == event:
            return dict(message)
    raise AssertionError(f"no {event} within {timeout:.0f} s")


def test_the_compose_topology_serves_a_tweet_through_the_proxy(topology: Topology) -> None:
    _alice, bob = make_user("alice"), make_user("bob")
    reader = Visitor(topology.url)
    reader.log_in("bob")
    assert reader.post("/@alice/follow/", {}).status == 302
    assert reader.get("/").status == 200

    ws_url = topology.url.replace("http://", "ws://") + "/ws/"
    with connect(
        ws_url,
        origin=Origin(topology.url),
        additional_headers={"Cookie": f"sessionid={reader.cookie('sessionid')}"},
        proxy=None,
        open_timeout=10,
    ) as socket:
        # The websocket went through the proxy's upgrade and is served by a replica.
        socket.send(json.dumps({"type": "catch_up", "after": 0}))
        _receive(socket, "tweet.catch_up", timeout=20)

        author = Visitor(topology.url)
        author.log_in("alice")
        text = f"through the proxy {time.monotonic_ns()}"
        assert author.post("/tweets/", {"text": text}).status == 302
        live = _receive(socket, "tweet.new", timeout=30)
        assert text in live["payload"]["html"]
        tweet_id = int(live["payload"]["id"])
        # While the socket is open, each role's keys live on its own server, and nowhere else (the
        # channel layer's group of this session's sockets lasts as long as the socket).
        for role, served in SERVED.items():
            keys = list(_client(topology, role).scan_iter(count=1000))
            assert keys, f"the {role} server holds nothing"
            strays = [key for key in keys if {f.role for f in families_of(key)} - served]
            assert not strays, f"{role} server holds other roles' keys: {strays[:10]}"
        assert _scan(topology, "cache", "sess:*")
        assert _scan(topology, "channels", "live:*")
        assert _scan(topology, "broker", "_kombu.binding.*")
        assert _scan(topology, "feeds", "tl*")

    # The fan-out reached the follower's feed on the feeds server, and the page shows it.
    feeds = _client(topology, "feeds")
    wait_for(
        lambda: feeds.zscore(feed_key(bob.pk), tweet_id) is not None, timeout=30, what="the fan-out to bob's feed"
    )
    wait_for(lambda: tweet_id in tweet_ids_in(reader.get("/").body), timeout=30, what="bob's home page to show it")

    # ... run by the worker service that consumes the fan-out task's queue, and by no other.
    queue = celery_app.amqp.router.route({}, "timelines.tasks.fanout_tweet_task")["queue"].name
    ran = [name for name, worker in topology.workers.items() if "fanout_tweet_task[" in worker.output()]
    consumers = [name for name, command in worker_services(compose.load(_required())).items()
                 if queue in command[command.index("-Q") + 1].split(",")]  # fmt: skip
    assert ran == (consumers or ["worker"]), (queue, ran, consumers)

    # The proxy is the edge: a client's own X-Forwarded-For never reaches a replica, which sees
    # the address the proxy took the request from (uvicorn believes the proxy's header alone).
    forged = urllib.request.Request(  # noqa: S310 - our own http:// URL
        topology.url + "/livez?forged", headers={"X-Forwarded-For": "203.0.113.9"}
    )
    with urllib.request.urlopen(forged, timeout=10) as response:  # noqa: S310 - our http:// URL
        assert response.status == 200
    seen = [line for web in topology.webs for line in web.output().splitlines() if "/livez?forged" in line]
    assert len(seen) == 1, seen
    assert "203.0.113.9" not in seen[0]
    assert "127.0.0.1:" in seen[0], seen

    # Both replicas served pages: plain requests spread over them.
    for _ in range(8):
        assert reader.get("/").status == 200
    per_replica = _requests_per_replica(topology)
    assert all(count > 0 for count in per_replica), per_replica

    # The app reached Postgres through PgBouncer only, where the pooler's connect_query sets the
    # statement timeout the app cannot send through it.
    pgbouncer = topology.others[0]
    assert "login attempt" in pgbouncer.output(), pgbouncer.output()[-2000:]
    assert topology.app_env["DATABASE_URL"] == topology.pooled_url
    with psycopg.connect(topology.pooled_url, autocommit=True, prepare_threshold=None) as pooled:
        row = pooled.execute("SHOW statement_timeout").fetchone()
    assert row == ("30s",)

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "topology.json").write_text(
        json.dumps(
            {
                "requests_per_web_replica": per_replica,
                "keys_per_redis_role": {role: _client(topology, role).dbsize() for role in SERVED},
                "commands_per_redis_role": {
                    role: _client(topology, role).info("stats")["total_commands_processed"] for role in SERVED
                },
                "fanout_queue": queue,
                "fanout_ran_in": ran,
            },
            indent=2,
        )
        + "\n"
    )


def _client(topology: Topology, role: str) -> redis.Redis:
    return redis.Redis(unix_socket_path=str(topology.redis[role].socket_path), socket_timeout=5)


def _scan(topology: Topology, role: str, pattern: str) -> list[bytes]:
    return list(_client(topology, role).scan_iter(match=pattern, count=1000))
