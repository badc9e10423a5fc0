"""A real uvicorn process serving the site on the test database, for the tests that talk to the
API over HTTP (schemathesis, the README's curl session), as production serves it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.db import connection

from tweethub.env import database_url_of

ROOT = Path(__file__).resolve().parents[2]
# The limits stay on (the limiter still runs); they are raised so that a fuzzer's hundreds of
# writes a minute are answered by the code under test, not all by 429s.
GENEROUS = "1000000/1m"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Live:
    url: str
    log: Path


@contextmanager
def uvicorn_server(log_dir: Path, **extra_env: str) -> Iterator[Live]:
    """uvicorn on a free port, DEBUG off, on this test run's database and Redis; stopped after."""
    port = _free_port()
    log = log_dir / "uvicorn.log"
    env = {
        **os.environ,
        "DATABASE_URL": database_url_of(connection.settings_dict),
        "DEBUG": "0",
        "MEDIA_ROOT": str(log_dir / "media"),
        "TRENDS_SIDEBAR_SECONDS": "0",
        **extra_env,
    }
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "tweethub.asgi:application",
             "--host", "127.0.0.1", "--port", str(port), "--lifespan", "off"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                pytest.fail(f"uvicorn exited:\n{log.read_text()}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"uvicorn did not start:\n{log.read_text()}")
                time.sleep(0.1)
        yield Live(url=f"http://127.0.0.1:{port}", log=log)
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
