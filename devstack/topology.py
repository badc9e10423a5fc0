"""docker-compose.yml's topology, run without Docker: the proof that the deployment works.

    with running(database_url=..., folder=...) as topology:
        topology.url            # the proxy, the only way in, as in compose

What runs, each a real process on this machine (loopback and unix sockets only):
- one Redis server per role (feeds, cache, channels, broker), started with the very options of the
  compose file's redis-* services (maxmemory, eviction policy, persistence), read from it;
- PgBouncer (Debian's, devstack/debian.py) in front of the given Postgres database, with the
  compose file's pooling rules (deploy/pgbouncer/pooling.ini, the same file), and the app on it
  with DATABASE_POOLER=pgbouncer, as in compose;
- WEB_REPLICAS web processes, each the Dockerfile's CMD (uvicorn) on a port of its own;
- one Celery worker per worker service of the compose file, with that service's command (its
  queues), so each queue group has its own process as in compose;
- HAProxy (Debian's) with deploy/haproxy/haproxy.cfg, the compose proxy's file, plus a server list
  naming the local web ports where compose names Docker's DNS.

Everything is stopped, in reverse order, when the block ends.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

from devstack import compose, debian
from devstack.binaries import redis_binary, unprivileged_user
from devstack.process import Server, ServerError, short_runtime_dir
from devstack.servers import Redis

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
# Redis role -> the app setting naming its server, as docker-compose.yml's x-app-environment has it.
ROLE_SETTINGS = {
    "feeds": "FEEDS_REDIS_URL",
    "cache": "CACHE_REDIS_URL",
    "channels": "CHANNELS_REDIS_URL",
    "broker": "CELERY_BROKER_URL",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - our own http:// URL
            return bool(response.status == 200)
    except OSError:
        return False


@dataclass
class RoleRedis(Redis):
    """A Redis server for one role, with the compose service's options (its command minus the
    binary) plus a private unix socket and data folder."""

    options: list[str] = field(default_factory=list)

    def start(self, timeout: float = 30.0) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        argv = [
            str(redis_binary()), *self.options,
            # Last, so they win over the compose file's: no TCP port, nothing exposed.
            "--port", "0", "--unixsocket", str(self.socket_path), "--unixsocketperm", "700",
            "--dir", str(self.data_dir), "--daemonize", "no", "--protected-mode", "yes",
        ]  # fmt: skip
        self._spawn(argv, user=None, stop_signal=signal.SIGTERM)
        self._wait(timeout, self._ping)

    def _wait(self, timeout: float, ready: object) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise self._fail(f"exited with code {self.process.returncode}")
            if callable(ready) and ready():
                return
            time.sleep(0.05)
        raise self._fail(f"not ready after {timeout:.0f}s")


@dataclass
class Program(Server):
    """Any other process of the topology (PgBouncer, web, worker, HAProxy), logging to its file."""

    argv: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    user: str | None = None

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            self.argv, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True, user=self.user,
        )  # fmt: skip
        log.close()

    def wait_until(self, ready: object, what: str, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise self._fail(f"exited with code {self.process.returncode} before {what}")
            if callable(ready) and ready():
                return
            time.sleep(0.1)
        raise self._fail(f"no {what} after {timeout:.0f}s")

    def output(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, sig)  # uvicorn's and Celery's children too
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(5)


@dataclass
class Topology:
    folder: Path
    proxy_port: int
    redis: dict[str, RoleRedis] = field(default_factory=dict)
    webs: list[Program] = field(default_factory=list)
    workers: dict[str, Program] = field(default_factory=dict)  # compose service -> its worker
    others: list[Program] = field(default_factory=list)  # PgBouncer, HAProxy
    app_env: dict[str, str] = field(default_factory=dict)
    pooled_url: str = ""  # PgBouncer's address, as the app's DATABASE_URL names it

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.proxy_port}"

    def everything(self) -> list[RoleRedis | Program]:
        return [*self.redis.values(), *self.others[:1], *self.webs, *self.workers.values(), *self.others[1:]]


def dockerfile_command(port: int) -> list[str]:
    """The Dockerfile's CMD (compose's web service runs it as it is), on 127.0.0.1:<port>."""
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    line = next(line for line in text.splitlines() if line.startswith("CMD "))
    argv = json.loads(line.removeprefix("CMD "))
    command = argv[2] if argv[:2] == ["sh", "-c"] else shlex.join(argv)
    if command.count("--host 0.0.0.0 --port 8000") != 1:
        raise ServerError(f"Dockerfile CMD no longer says where uvicorn listens: {argv}")
    return ["sh", "-c", command.replace("--host 0.0.0.0 --port 8000", f"--host 127.0.0.1 --port {port}")]


def _pgbouncer(folder: Path, database_url: str, statement_timeout_ms: str) -> tuple[Program, str]:
    """PgBouncer before the database of `database_url` (a devstack Postgres on its unix socket),
    and the URL the app reaches it by. As root it runs as the Postgres server's user, who may
    use that socket (PgBouncer refuses to run as root)."""
    unpacked = debian.fetch("pgbouncer")
    target = urlsplit(database_url)
    socket_dir, dbname = unquote(target.hostname or ""), target.path.lstrip("/")
    user = unprivileged_user()
    home = short_runtime_dir(f"pgbouncer:{folder}")
    port = free_port()
    (home / "pooling.ini").write_text((DEPLOY / "pgbouncer" / "pooling.ini").read_text())
    (home / "userlist.txt").write_text('"postgres" ""\n')
    (home / "pgbouncer.ini").write_text(
        "[databases]\n"
        f"{dbname} = host={socket_dir} dbname={dbname} user=postgres"
        f" connect_query='SET statement_timeout = {statement_timeout_ms}'\n"
        f"%include {home / 'pooling.ini'}\n"
        f"listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n"
        f"auth_type = trust\nauth_file = {home / 'userlist.txt'}\n"
        "default_pool_size = 10\nmax_client_conn = 500\n"
    )
    if user is not None:
        entry = pwd.getpwnam(user)
        for path in [home, *home.iterdir()]:
            os.chown(path, entry.pw_uid, entry.pw_gid)
    program = Program(
        name="pgbouncer",
        log_path=home / "pgbouncer.log",
        argv=[str(unpacked.binary), str(home / "pgbouncer.ini")],
        env={**os.environ, **unpacked.env},
        user=user,
    )
    return program, f"postgres://postgres@127.0.0.1:{port}/{dbname}"


def _haproxy(folder: Path, web_ports: list[int], port: int) -> Program:
    unpacked = debian.fetch("haproxy")
    servers = folder / "web-local.cfg"
    servers.write_text(
        "backend web\n" + "".join(f"    server web{i} 127.0.0.1:{p}\n" for i, p in enumerate(web_ports, 1))
    )
    return Program(
        name="haproxy",
        log_path=folder / "haproxy.log",
        argv=[str(unpacked.binary), "-f", str(DEPLOY / "haproxy" / "haproxy.cfg"), "-f", str(servers)],
        env={
            **os.environ,
            **unpacked.env,
            "PROXY_BIND": f"127.0.0.1:{port}",
            "PROXY_MAXCONN": "2000",
            "PROXY_SCHEME": "http",
            "PROXY_HEALTH_HOST": "localhost",
        },
    )


def worker_services(spec: dict[str, object]) -> dict[str, list[str]]:
    """The compose file's Celery worker services and their commands."""
    services = spec["services"]
    assert isinstance(services, dict)
    return {
        name: list(service["command"])
        for name, service in services.items()
        if list(service.get("command") or [])[:4] == ["celery", "-A", "tweethub", "worker"]
    }


@contextlib.contextmanager
def running(
    *, database_url: str, folder: Path, env: dict[str, str], web_replicas: int = 2, extra_queues: str = ""
) -> Iterator[Topology]:
    """The topology on `database_url`'s database, its files under `folder`; `env` is the app's
    environment (SECRET_KEY, rate limits...). `extra_queues`, if given, is added to the `worker`
    service's queues (the app's default queue, while it is not among the compose file's)."""
    # The compose file's variables from the environment, as Compose takes them; the two it requires
    # name things this topology does not use (Postgres's password, the app's key is in `env`).
    required = {"POSTGRES_PASSWORD": "unused-here", "SECRET_KEY": "unused-here"}
    spec = compose.load({**required, **os.environ, "WORKER_CONCURRENCY": "1"})
    topology = Topology(folder=folder, proxy_port=free_port())
    sockets = short_runtime_dir(f"topology:{folder}")
    try:
        app_env = {**os.environ, **env}
        for role, setting in ROLE_SETTINGS.items():
            command = list(spec["services"][f"redis-{role}"]["command"])
            server = RoleRedis(
                name=f"redis-{role}", log_path=folder / f"redis-{role}.log", data_dir=folder / f"redis-{role}",
                socket_path=sockets / f"{role}.sock", options=command[1:],
            )  # fmt: skip
            topology.redis[role] = server
            server.start()
            # Celery reads CELERY_BROKER_URL from the environment itself, and its unix-socket
            # scheme is its own (redis+socket://); redis-py's unix:// it rejects.
            broker_url = f"redis+socket://{server.socket_path}?virtual_host=0"
            app_env[setting] = broker_url if role == "broker" else server.url
        app_env.pop("REDIS_URL", None)
        pgbouncer, pooled_url = _pgbouncer(folder, database_url, app_env.get("DB_STATEMENT_TIMEOUT_MS", "30000"))
        topology.others.append(pgbouncer)
        pgbouncer.start()
        pgbouncer_port = int(urlsplit(pooled_url).port or 0)
        pgbouncer.wait_until(lambda: _accepts(pgbouncer_port), "PgBouncer listening")
        app_env.update(
            DATABASE_URL=pooled_url,
            DATABASE_POOLER="pgbouncer",
            TRUSTED_PROXIES="127.0.0.1",
            WEB_WORKERS="1",
            PATH=f"{Path(sys.executable).parent}{os.pathsep}{app_env.get('PATH', '')}",
            PYTHONPATH=str(ROOT),
        )
        topology.app_env, topology.pooled_url = app_env, pooled_url
        web_ports = [free_port() for _ in range(web_replicas)]
        for n, port in enumerate(web_ports, 1):
            web = Program(
                name=f"web-{n}", log_path=folder / f"web-{n}.log", argv=dockerfile_command(port), env=app_env
            )
            topology.webs.append(web)
            web.start()
        for name, command in worker_services(spec).items():
            argv = [sys.executable, "-m", *command]
            if name == "worker" and extra_queues:
                queues = argv.index("-Q") + 1
                argv[queues] = f"{argv[queues]},{extra_queues}"
            argv[argv.index("--hostname") + 1] = f"{name}@%h"
            worker = Program(name=name, log_path=folder / f"{name}.log", argv=argv, env=app_env)
            topology.workers[name] = worker
            worker.start()
        for web, port in zip(topology.webs, web_ports, strict=True):
            web.wait_until(lambda port=port: answers(f"http://127.0.0.1:{port}/livez"), "answer on /livez")
        for worker in topology.workers.values():
            worker.wait_until(lambda worker=worker: "ready." in worker.output(), "'ready.' in its log")
        proxy = _haproxy(folder, web_ports, topology.proxy_port)
        topology.others.append(proxy)
        proxy.start()
        proxy.wait_until(lambda: answers(topology.url + "/livez"), "answer on /livez through the proxy")
        yield topology
    finally:
        for process in reversed(topology.everything()):
            process.stop()
        shutil.rmtree(sockets, ignore_errors=True)
        shutil.rmtree(short_runtime_dir(f"pgbouncer:{folder}"), ignore_errors=True)


def _accepts(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0
