"""The private servers started for a command stop when it ends, also when it fails."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

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
