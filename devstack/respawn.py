"""Keep one Procfile process running: restart it when it dies, with a backoff, and say so.

    python -m devstack.respawn NAME -- COMMAND [ARGS...]

honcho (`make run`) stops every process as soon as any one of them exits, and the launcher then
stops Postgres and Redis: one crashed or killed worker took the whole site down. Each Procfile
line therefore runs its command under this small supervisor, which honcho never sees exit:

- the command dies (any exit code or signal) -> "worker exited (signal 9), restarting in 1 s", then
  it starts again; the delay doubles after each quick death (1, 2, 4 ... 30 s) so a command that
  cannot start does not spin, and is back to 1 s once a run lasted RESET_AFTER seconds;
- whatever the dead command left behind (uvicorn's worker processes still holding the port, a
  Celery pool child) is stopped before the restart: this process is a child subreaper
  (PR_SET_CHILD_SUBREAPER), so orphans of the command become its children;
- SIGTERM or SIGINT (honcho stopping everything on Ctrl-C) ends it: the command gets the signal
  (honcho signals the whole process group, which the command shares; we pass it on ourselves if
  the command is still running a second later), no restart, and this process exits with the
  command's status. If this process is killed, the kernel sends SIGTERM to the command.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36
# First delay before a restart, the cap of its doubling, and how long a run must last for the next
# restart to wait the first delay again.
FIRST_DELAY = 1.0
MAX_DELAY = 30.0
RESET_AFTER = 30.0
# After a stop signal, how long the command has to exit on the signal it got with its group before
# we send it ourselves (then it was sent to this process alone, e.g. `kill <pid>`).
FORWARD_AFTER = 1.0
# How long leftovers of a dead command get to exit on SIGTERM before SIGKILL.
ORPHAN_GRACE = 5.0


def _prctl(option: int, value: int) -> None:
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(option, value, 0, 0, 0)


def describe(status: int) -> str:
    """A wait status the way a person reads it: "code 1", "signal 9"."""
    if os.WIFSIGNALED(status):
        return f"signal {os.WTERMSIG(status)}"
    return f"code {os.waitstatus_to_exitcode(status)}"


def _children() -> list[int]:
    """Our own child processes (after the command died: what it left behind, reparented to us)."""
    me, found = os.getpid(), []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            # "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split after it.
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == me:
                found.append(int(stat.parent.name))
    return found


class Respawner:
    def __init__(self, name: str, command: list[str]) -> None:
        self.name = name
        self.command = command
        self.stop_signal: int | None = None
        self.stop_asked_at = 0.0
        self.forwarded = False
        self.child: subprocess.Popen[bytes] | None = None

    def say(self, message: str) -> None:
        print(f"{self.name} {message}", flush=True)

    def _on_stop(self, signum: int, _frame: object) -> None:
        if self.stop_signal is None:
            self.stop_signal, self.stop_asked_at = signum, time.monotonic()

    def _spawn(self) -> subprocess.Popen[bytes]:
        child = subprocess.Popen(self.command, preexec_fn=lambda: _prctl(PR_SET_PDEATHSIG, signal.SIGTERM))
        self.say(f"started (pid {child.pid})")
        return child

    def _wait(self, child: subprocess.Popen[bytes]) -> int:
        """Wait for the command to end, reaping any orphan of it meanwhile; its wait status."""
        while True:
            signum = self.stop_signal
            if signum is not None and not self.forwarded and time.monotonic() - self.stop_asked_at >= FORWARD_AFTER:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(child.pid, signum)
                self.forwarded = True
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                pid, status = 0, 0
            if pid == child.pid:
                child.returncode = os.waitstatus_to_exitcode(status)  # Popen must not wait for it again
                return status
            if pid == 0:
                time.sleep(0.1)

    def _clean_up_after(self) -> None:
        """Stop what the dead command left running (reparented to us), then reap it."""
        leftovers = _children()
        for pid in leftovers:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + ORPHAN_GRACE
        while _children() and time.monotonic() < deadline:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(-1, os.WNOHANG)
            time.sleep(0.05)
        for pid in _children():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            while os.waitpid(-1, os.WNOHANG)[0]:
                pass
        if leftovers:
            self.say(f"left {len(leftovers)} process(es) behind: stopped them")

    def _sleep(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while self.stop_signal is None and time.monotonic() < deadline:
            time.sleep(0.05)

    def run(self) -> int:
        _prctl(PR_SET_CHILD_SUBREAPER, 1)
        for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(signum, self._on_stop)
        delay = FIRST_DELAY
        while True:
            started = time.monotonic()
            child = self._spawn()
            status = self._wait(child)
            ran = time.monotonic() - started
            if self.stop_signal is not None:
                self._clean_up_after()
                return os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status)
            if ran >= RESET_AFTER:
                delay = FIRST_DELAY
            self.say(f"exited ({describe(status)}) after {ran:.0f} s, restarting in {delay:g} s")
            self._clean_up_after()
            self._sleep(delay)
            if self.stop_signal is not None:
                return 0
            delay = min(delay * 2, MAX_DELAY)


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack.respawn", description=__doc__.split("\n")[0])
    parser.add_argument("name", help="the process's name in messages (web, worker, beat)")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("give the command to keep running after --")
    # If honcho (our parent) is killed outright, stop too: the kernel sends SIGTERM, handled above.
    _prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    return Respawner(args.name, command).run()


if __name__ == "__main__":
    sys.exit(main())
