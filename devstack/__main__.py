"""Run a command with real Postgres and Redis, starting private servers when none are configured.

    python -m devstack [--profile dev|test] [--feeds single|shards|cluster] -- COMMAND [ARGS...]
    python -m devstack --profile dev --serve        # just the servers, until Ctrl-C

`--feeds` (or DEVSTACK_FEEDS) also starts the servers home feeds are spread over: 2 plain shards, or
a 3-node Valkey Cluster (devstack/cluster.py); `make test` runs the feed tests on each.

When DATABASE_URL (or REDIS_URL) is set, that server is used as is and nothing is started for it.
Otherwise:
- profile "dev" keeps its data in .local/dev/ across runs; a second launcher started while one is
  running (say `make shell` beside `make run`) reuses its servers instead of starting new ones;
- profile "test" starts throwaway servers in a fresh folder and deletes it afterwards, so every test
  run begins from nothing and never touches development data. Its SECRET_KEY is throwaway too: a
  fresh random one for each run, whatever the caller set (settings refuse a short or placeholder
  key with DEBUG off, and the tests run as production does).

The servers are stopped when the command ends, fails, or is interrupted; see servers.py for why
they cannot outlive the launcher even when it is killed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from devstack import cluster
from devstack.process import die_with_parent, others_can_traverse
from devstack.servers import Postgres, Redis, ServerError, short_runtime_dir

ROOT = Path(__file__).resolve().parent.parent
# Overridable so tests can exercise the dev profile without touching the real dev data.
LOCAL = Path(os.environ.get("DEVSTACK_HOME", ROOT / ".local"))


def _data_root(profile: str) -> Path:
    """Where server data lives: under the git-ignored .local/ unless, running as root, the
    unprivileged Postgres user could not reach it (e.g. a checkout under /root): then /tmp."""
    base = LOCAL
    if os.geteuid() == 0 and not others_can_traverse(LOCAL):
        base = short_runtime_dir(f"data:{LOCAL}")
    if profile == "dev":
        return base / "dev"
    (base / "test-runs").mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f"{os.getpid()}-", dir=base / "test-runs"))


def _running_dev_stack(state_file: Path) -> dict[str, str] | None:
    """The URLs of a dev stack another launcher is serving right now, if any."""
    try:
        state = json.loads(state_file.read_text())
        os.kill(int(state["pid"]), 0)
    except (OSError, ValueError, KeyError):
        return None
    return {key: state[key] for key in ("DATABASE_URL", "REDIS_URL") if key in state}


@contextlib.contextmanager
def stack(profile: str, feeds: str = "single") -> Iterator[dict[str, str]]:
    """Yield the environment (DATABASE_URL, REDIS_URL, and the feed servers' settings for a
    `feeds` topology other than "single") of a running stack; stop what we started."""
    env: dict[str, str] = {}
    want_pg = not os.environ.get("DATABASE_URL")
    want_redis = not os.environ.get("REDIS_URL")
    state_file = LOCAL / "dev" / "stack.json"

    if profile == "dev" and (want_pg or want_redis):
        shared = _running_dev_stack(state_file)
        if shared is not None:
            print(f"devstack: reusing the servers of the running dev stack ({state_file})")
            yield shared
            return

    root = _data_root(profile)
    sockets = short_runtime_dir(f"sockets:{root}")
    started: list[Postgres | Redis] = []
    if profile == "test":
        env["SECRET_KEY"] = secrets.token_urlsafe(50)
    try:
        if want_pg:
            pg = Postgres(
                name="postgres",
                log_path=root / "postgres.log",
                data_dir=root / "pgdata",
                socket_dir=sockets / "pg",
                durable=profile == "dev",
            )
            started.append(pg)
            pg.start()
            env["DATABASE_URL"] = pg.url
        if want_redis:
            redis = Redis(
                name="redis",
                log_path=root / "redis.log",
                data_dir=root / "redis",
                socket_path=sockets / "redis.sock",
                persist=profile == "dev",
            )
            started.append(redis)
            redis.start()
            env["REDIS_URL"] = redis.url
            # Tells the test suite this Redis is a throwaway server it may flush between tests.
            env["DEVSTACK_REDIS_OWNED"] = profile
            feed_servers = cluster.feed_servers(feeds, root=root, sockets=sockets)
            for feed_server in feed_servers:
                started.append(feed_server)
                feed_server.start()
            if feeds == "cluster":
                cluster.join(feed_servers)
            env.update(cluster.environment(feeds, feed_servers))
        if started:
            print(f"devstack: {', '.join(s.name for s in started)} up ({profile}; data in {root})")
        if profile == "dev" and started:
            state_file.parent.mkdir(parents=True, exist_ok=True)
            state_file.write_text(json.dumps({"pid": os.getpid(), **env}))
        yield env
    finally:
        if profile == "dev" and started:
            state_file.unlink(missing_ok=True)
        for server in reversed(started):
            server.stop()
        if profile == "test":
            shutil.rmtree(root, ignore_errors=True)
            shutil.rmtree(sockets, ignore_errors=True)


def run(command: list[str], env: dict[str, str]) -> int:
    """Run `command` in our process group (a terminal Ctrl-C reaches it directly) and wait.

    We ignore SIGINT ourselves so that we outlive the command and get to stop the servers; a
    SIGTERM (CI timeout, `kill`) is passed on to the command.
    """
    child = subprocess.Popen(
        command,
        env={**os.environ, **env},
        preexec_fn=lambda: die_with_parent(signal.SIGTERM),
    )

    def forward(signum: int, _frame: object) -> None:
        with contextlib.suppress(ProcessLookupError):
            child.send_signal(signum)

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGHUP, forward)
    return child.wait()


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack", description=__doc__.split("\n")[0])
    parser.add_argument("--profile", choices=["dev", "test"], default="dev")
    parser.add_argument("--serve", action="store_true", help="run the servers until interrupted")
    parser.add_argument(
        "--feeds",
        choices=cluster.TOPOLOGIES,
        default=os.environ.get("DEVSTACK_FEEDS") or "single",
        help="where home feeds live: the one Redis, 2 shards, or a 3-node cluster",
    )
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command and not args.serve:
        parser.error("give a command after --, or --serve")

    # A SIGTERM before the command starts must still stop servers already started: make it raise.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        with stack(args.profile, args.feeds) as env:
            if args.serve:
                for key, value in env.items():
                    print(f"export {key}='{value}'")
                command = [sys.executable, "-c", "import signal; signal.pause()"]
            return run(command, env)
    except ServerError as error:
        print(f"devstack: {error}", file=sys.stderr)
        return 70


if __name__ == "__main__":
    sys.exit(main())
