"""A private server as a child process of the launcher, and the folders it runs in.

Each server runs in its own session, so a Ctrl-C in the terminal reaches the application processes
first; PR_SET_PDEATHSIG makes the kernel stop it when the launcher dies, even by SIGKILL.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

PR_SET_PDEATHSIG = 1


class ServerError(RuntimeError):
    """A private server could not be started; the message says why and where its log is."""


def die_with_parent(sig: int) -> None:
    """Ask the kernel to send `sig` to this (child) process when its parent dies.

    Runs in the child between fork and exec, after any uid switch (a credential change would clear
    the setting), so it holds for the server process itself.
    """
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, sig)


def others_can_traverse(path: Path) -> bool:
    """True when a different, unprivileged user can reach `path` (every parent has o+x)."""
    return all(not part.exists() or part.stat().st_mode & 0o001 for part in [path, *path.parents])


def process_alive(pid: int) -> bool:
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
            preexec_fn=lambda: die_with_parent(stop_signal),
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
