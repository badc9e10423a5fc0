"""Health of the parts the site needs: Postgres, Redis (each role), the Celery broker, a worker.

Each check is bounded in time and turns any failure into a named, readable result: a health
endpoint that hangs or raises when a dependency is down is useless exactly when it is needed.
`livez` is the other kind of probe: is this process serving requests at all, with no I/O.
"""

from __future__ import annotations

import ipaddress
import math
import time
from dataclasses import asdict, dataclass

import redis
from django.conf import settings
from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from tweethub.celery import app as celery_app
from tweethub.http import client_ip
from tweethub.redis import client_for

WORKER_PING_TIMEOUT = 1.0


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    ms: float


@dataclass(frozen=True)
class Report:
    checks: list[Check]

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks)

    @property
    def failing(self) -> list[str]:
        return [check.name for check in self.checks if not check.ok]

    def as_dict(self, *, detailed: bool) -> dict[str, object]:
        """Up or down per part for anyone; with `detailed`, also what answered and how fast (server
        versions, worker host names, error texts), which tell an attacker what to aim at."""
        return {
            "status": "ok" if self.ok else "failing",
            "failing": self.failing,
            "checks": {check.name: asdict(check) if detailed else {"ok": check.ok} for check in self.checks},
        }


def may_see_details(request: HttpRequest) -> bool:
    """Whether /healthz may show `request` the details: to a probe on this machine (client_ip is
    loopback: behind a trusted proxy that is the proxy's client, not the proxy) or to staff. The
    address is checked first: it needs no I/O, and reading the user needs the very services that
    may be down (a failure there is "not staff", never an error instead of the report)."""
    try:
        address = ipaddress.ip_address(client_ip(request))
    except ValueError:
        address = None
    if address is not None:
        mapped = getattr(address, "ipv4_mapped", None)  # ::ffff:127.0.0.1 from a dual-stack socket
        if (mapped or address).is_loopback:
            return True
    try:
        return bool(request.user.is_staff)
    except (DatabaseError, redis.RedisError):
        return False


def _timed(name: str, probe: object) -> Check:
    started = time.perf_counter()
    try:
        detail = probe()  # type: ignore[operator]
        ok = True
    except Exception as error:
        detail, ok = f"{type(error).__name__}: {error}", False
    return Check(name=name, ok=ok, detail=str(detail), ms=round((time.perf_counter() - started) * 1000, 1))


def _postgres() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        row = cursor.fetchone()
    return f"PostgreSQL {row[0] if row else '?'}"


def _redis() -> str:
    """Ping every distinct Redis URL the site uses (feeds, cache, channel layer)."""
    urls = dict.fromkeys([settings.FEEDS_REDIS_URL, settings.CACHE_REDIS_URL, settings.CHANNELS_REDIS_URL])
    versions = set()
    for url in urls:
        client = client_for(url)
        client.ping()
        info = client.info("server")
        if "valkey_version" in info:
            versions.add(f"Valkey {info['valkey_version']}")
        else:
            versions.add(f"Redis {info['redis_version']}")
    return ", ".join(sorted(versions))


def _broker() -> str:
    with celery_app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, interval_start=0, timeout=math.ceil(settings.REDIS_SOCKET_TIMEOUT))
        return f"{conn.transport_cls} reachable"


def _worker() -> str:
    replies = celery_app.control.ping(timeout=WORKER_PING_TIMEOUT, limit=1)
    if not replies:
        raise RuntimeError(f"no Celery worker answered a ping within {WORKER_PING_TIMEOUT:.0f}s")
    return ", ".join(sorted(name for reply in replies for name in reply))


def run_checks() -> Report:
    checks = [_timed("postgres", _postgres), _timed("redis", _redis), _timed("broker", _broker)]
    if checks[-1].ok:
        checks.append(_timed("worker", _worker))
    else:
        # Pinging through a dead broker would only wait for retries: say why we did not.
        checks.append(Check(name="worker", ok=False, detail="not checked: broker unreachable", ms=0.0))
    return Report(checks=checks)


@never_cache
@require_safe
def livez(request: HttpRequest) -> HttpResponse:
    """Liveness: 200 "ok" whenever this process can run a view. No Postgres, Redis or worker I/O
    (an anonymous request through the full middleware stack touches neither), so a failing
    dependency never gets a healthy web process restarted; /healthz is the readiness check. Also
    the trivial view `make bench` compares the home page with (same server, same middleware)."""
    return HttpResponse("ok", content_type="text/plain; charset=utf-8")
