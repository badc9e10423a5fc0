"""Server binaries from Debian's packages, without root: fetched with `apt-get download` and unpacked
with `dpkg -x` into a project folder, never installed into the system.

The local deployment topology (devstack/topology.py) runs the same proxy and pooler as
docker-compose.yml: HAProxy and PgBouncer. Neither ships in a PyPI wheel, and `apt-get install`
needs root, so each package is unpacked, with those of its shared libraries the machine lacks, into
.local/debian/<package>/ and run from there with LD_LIBRARY_PATH pointing at the unpacked libraries.

    python -m devstack.debian haproxy pgbouncer     # fetch both (`make deploy-binaries`)

A package is fetched once; the folder is built aside and renamed into place, so an interrupted or
concurrent fetch never leaves half of one. As root, the folder lives under /tmp instead when the
clone sits where other users cannot pass (PgBouncer refuses to run as root, so it runs as the
unprivileged Postgres user, who must reach its binary).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from devstack.process import ServerError, others_can_traverse, short_runtime_dir

ROOT = Path(__file__).resolve().parent.parent
LOCAL = Path(os.environ.get("DEVSTACK_HOME", ROOT / ".local"))

# The binary each package is fetched for, relative to the unpacked root.
BINARIES = {"haproxy": "usr/sbin/haproxy", "pgbouncer": "usr/sbin/pgbouncer"}


@dataclass(frozen=True)
class Unpacked:
    """An unpacked package: its binary and the environment that lets it find its libraries."""

    root: Path
    binary: Path

    @property
    def env(self) -> dict[str, str]:
        dirs = [str(d) for pattern in ("usr/lib/*-linux-gnu", "lib/*-linux-gnu") for d in self.root.glob(pattern)]
        inherited = os.environ.get("LD_LIBRARY_PATH")
        return {"LD_LIBRARY_PATH": os.pathsep.join([*dirs, *([inherited] if inherited else [])])}


def _cache_dir() -> Path:
    base = LOCAL / "debian"
    if os.geteuid() == 0 and not others_can_traverse(LOCAL):
        base = short_runtime_dir(f"debian:{LOCAL}")
    base.mkdir(parents=True, exist_ok=True)
    return base


class _Apt:
    """apt-get and apt-cache as this user may run them. Root uses the system's package lists
    (updating them once if a download fails: a fresh machine often has none); anyone else keeps
    private lists under the cache folder, which `apt-get update` may write without root."""

    def __init__(self, cache: Path) -> None:
        self.options: list[str] = []
        self.updated = False
        if os.geteuid() != 0:
            lists, archives = cache / "apt" / "lists", cache / "apt" / "cache"
            (lists / "partial").mkdir(parents=True, exist_ok=True)
            (archives / "archives" / "partial").mkdir(parents=True, exist_ok=True)
            self.options = [
                "-o", f"Dir::State::Lists={lists}",
                "-o", f"Dir::Cache={archives}",
                "-o", "Debug::NoLocking=1",
            ]  # fmt: skip
            self.updated = any(lists.glob("*Packages*"))

    def run(self, tool: str, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run([tool, *self.options, *args], cwd=cwd, capture_output=True, text=True, check=False)

    def update(self) -> None:
        done = self.run("apt-get", "update", "-qq")
        if done.returncode != 0:
            raise ServerError(f"apt-get update failed:\n{done.stderr[-2000:]}")
        self.updated = True

    def retrying(self, tool: str, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        """`tool args`, after an `apt-get update` when the lists are missing or stale."""
        if not self.updated and self.options:
            self.update()
        done = self.run(tool, *args, cwd=cwd)
        if done.returncode != 0 and not self.updated:
            self.update()
            done = self.run(tool, *args, cwd=cwd)
        if done.returncode != 0:
            raise ServerError(f"{tool} {' '.join(args)} failed:\n{done.stderr[-2000:]}")
        return done


def _installed(package: str) -> bool:
    done = subprocess.run(
        ["dpkg-query", "-W", "-f=${db:Status-Status}", package], capture_output=True, text=True, check=False
    )
    return done.stdout.strip() == "installed"


def _missing_libraries(apt: _Apt, package: str, seen: set[str]) -> list[str]:
    """The shared-library packages `package` needs (recursively) that this machine lacks. Only lib*
    packages count: the others (adduser, lsb-base, postgresql-common) serve maintainer scripts,
    which `dpkg -x` never runs."""
    found: list[str] = []
    depends = apt.retrying("apt-cache", "depends", "--important", package).stdout
    for line in depends.splitlines():
        kind, _, name = line.strip().lstrip("|").partition(": ")
        if kind not in ("Depends", "PreDepends") or not name.startswith("lib") or name in seen:
            continue
        seen.add(name)
        if not _installed(name):
            found += [name, *_missing_libraries(apt, name, seen)]
    return found


def fetch(package: str) -> Unpacked:
    """`package` unpacked (with the libraries this machine lacks), fetched on first use."""
    cache = _cache_dir()
    target = cache / package
    binary = target / BINARIES[package]
    if (target / ".complete").exists():
        return Unpacked(target, binary)
    if shutil.which("apt-get") is None or shutil.which("dpkg") is None:
        raise ServerError(f"{package}: this machine has no apt-get/dpkg to fetch Debian's {package} with")
    apt = _Apt(cache)
    staging = Path(tempfile.mkdtemp(prefix=f"{package}-", dir=cache))
    try:
        wanted = [package, *_missing_libraries(apt, package, {package})]
        debs = staging / "debs"
        debs.mkdir()
        apt.retrying("apt-get", "download", *wanted, cwd=debs)
        tree = staging / "tree"
        for deb in sorted(debs.glob("*.deb")):
            subprocess.run(["dpkg", "-x", str(deb), str(tree)], check=True, capture_output=True)
        (tree / ".complete").write_text("\n".join(sorted(deb.name for deb in debs.glob("*.deb"))) + "\n")
        # Readable and traversable by the unprivileged user PgBouncer runs as under root.
        tree.chmod(0o755)
        try:
            tree.rename(target)
        except OSError:
            if not (target / ".complete").exists():  # not a concurrent fetch that finished first
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return Unpacked(target, binary)


def main(argv: list[str]) -> int:
    for package in argv or list(BINARIES):
        try:
            unpacked = fetch(package)
        except ServerError as error:
            print(f"devstack.debian: {error}", file=sys.stderr)
            return 70
        version = subprocess.run(
            [str(unpacked.binary), "-v" if package == "haproxy" else "-V"],
            env={**os.environ, **unpacked.env},
            capture_output=True,
            text=True,
            check=False,
        )
        first = (version.stdout or version.stderr).splitlines()[:1]
        print(f"{package}: {unpacked.binary} ({first[0] if first else 'no version output'})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
