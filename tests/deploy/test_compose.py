"""docker-compose.yml is a valid Compose file, as Compose would run it (issue 20, point 5).

Docker does not run here, so the file is validated against the Compose Specification's own JSON
schema (deploy/compose-spec.json, vendored: deploy/README.md names its source) after every
`${VAR:-default}` is interpolated the way Compose does (devstack/compose.py), with only the two
variables the file requires set. Then what the schema cannot know: the defaults make sense (replica
counts are numbers, each Redis role has its own server with the policy its data needs), and every
file the services mount exists.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from devstack.compose import COMPOSE_FILE, InterpolationError, interpolate, load, raw

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((ROOT / "deploy" / "compose-spec.json").read_text())
REQUIRED = {"SECRET_KEY": "s" * 50, "POSTGRES_PASSWORD": "a-url-safe-password"}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return load(REQUIRED)


def _strings(node: Any) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, list):
        return [s for item in node for s in _strings(item)]
    if isinstance(node, dict):
        return [s for value in node.values() for s in _strings(value)]
    return []


def test_the_file_validates_against_the_compose_schema(compose: dict[str, Any]) -> None:
    validator = jsonschema.Draft7Validator(SCHEMA)
    errors = sorted(validator.iter_errors(compose), key=lambda error: list(error.path))
    assert not errors, "\n".join(f"{'/'.join(map(str, e.path))}: {e.message}" for e in errors)


def test_the_schema_rejects_what_compose_rejects(compose: dict[str, Any]) -> None:
    """The vendored schema is the strict one (no unknown keys), so the test above can fail."""
    broken = json.loads(json.dumps(compose))
    broken["services"]["web"]["replica"] = 2  # a typo of deploy.replicas
    broken["services"]["worker"]["healthcheck"]["interval"] = 30  # not a duration string
    messages = [error.message for error in jsonschema.Draft7Validator(SCHEMA).iter_errors(broken)]
    assert any("'replica'" in message for message in messages), messages
    assert any("30 is not of type 'string'" in message for message in messages), messages


def test_every_variable_resolves_from_its_default(compose: dict[str, Any]) -> None:
    """With only SECRET_KEY and POSTGRES_PASSWORD set nothing is left uninterpolated, and the
    values that must be numbers or sizes are."""
    leftover = [s for s in _strings(compose) if "${" in s]
    assert not leftover, leftover
    services = compose["services"]
    for name in ("web", "worker", "worker-fanout", "worker-bulk"):
        assert re.fullmatch(r"[1-9][0-9]*", str(services[name]["deploy"]["replicas"])), name
        if name != "web":
            concurrency = services[name]["command"][services[name]["command"].index("--concurrency") + 1]
            assert re.fullmatch(r"[1-9][0-9]*", concurrency), name
    for name in ("redis-feeds", "redis-cache", "redis-channels", "redis-broker"):
        command = services[name]["command"]
        assert re.fullmatch(r"[1-9][0-9]*(kb|mb|gb)", command[command.index("--maxmemory") + 1]), name


def test_required_variables_stop_compose_with_their_message() -> None:
    with pytest.raises(InterpolationError, match="set POSTGRES_PASSWORD"):
        load({"SECRET_KEY": "s" * 50})
    with pytest.raises(InterpolationError, match="set SECRET_KEY"):
        load({"POSTGRES_PASSWORD": "p"})


def test_interpolation_follows_the_compose_rules() -> None:
    env = {"SET": "x", "EMPTY": ""}
    assert interpolate("${UNSET:-d} ${EMPTY:-d} ${EMPTY-d} ${SET:-d}", env) == "d d  x"
    assert interpolate("${SET:+alt} ${EMPTY:+alt}|${EMPTY+alt} ${UNSET+alt}|", env) == "alt |alt |"
    assert interpolate("$$HOSTNAME $SET ${UNSET:-${SET}}", env) == "$HOSTNAME x x"
    with pytest.raises(InterpolationError, match="EMPTY: needed"):
        interpolate("${EMPTY:?needed}", env)
    assert interpolate("${EMPTY?needed}", env) == ""


def test_a_variable_changes_what_compose_runs() -> None:
    compose = load({**REQUIRED, "WEB_REPLICAS": "6", "FEEDS_REDIS_MAXMEMORY": "8gb", "WORKER_CONCURRENCY": "4"})
    services = compose["services"]
    assert services["web"]["deploy"]["replicas"] == "6"
    assert "8gb" in services["redis-feeds"]["command"]
    assert services["worker-fanout"]["command"][services["worker-fanout"]["command"].index("--concurrency") + 1] == "4"


def test_each_redis_role_has_its_own_server_and_policy(compose: dict[str, Any]) -> None:
    """The broker never evicts and keeps an append-only file; the cache may evict anything; the
    feeds only what has a TTL; the channel layer refuses rather than drops."""
    services = compose["services"]
    env = compose["x-app-environment"]
    urls = {role: env[f"{role}_REDIS_URL" if role != "CELERY_BROKER" else "CELERY_BROKER_URL"]
            for role in ("FEEDS", "CACHE", "CHANNELS", "CELERY_BROKER")}  # fmt: skip
    hosts = {role: re.match(r"redis://([^:/]+)", url).group(1) for role, url in urls.items()}  # type: ignore[union-attr]
    assert len(set(hosts.values())) == 4, hosts

    def option(host: str, name: str) -> str:
        command = services[host]["command"]
        return str(command[command.index(f"--{name}") + 1])

    assert option(hosts["CELERY_BROKER"], "maxmemory-policy") == "noeviction"
    assert option(hosts["CELERY_BROKER"], "appendonly") == "yes"
    assert option(hosts["CACHE"], "maxmemory-policy") == "allkeys-lru"
    assert option(hosts["FEEDS"], "maxmemory-policy") == "volatile-lru"
    assert option(hosts["CHANNELS"], "maxmemory-policy") == "noeviction"
    for host in hosts.values():
        assert "healthcheck" in services[host], host


def test_the_app_reaches_postgres_through_pgbouncer_and_clients_through_the_proxy(compose: dict[str, Any]) -> None:
    services = compose["services"]
    env = compose["x-app-environment"]
    assert "@pgbouncer:6432/" in env["DATABASE_URL"]
    assert env["DATABASE_POOLER"] == "pgbouncer"
    assert "pool_mode = transaction" in (ROOT / "deploy" / "pgbouncer" / "pooling.ini").read_text()
    # Migrations run straight on Postgres (one long session), everything else through the pooler.
    assert "@postgres:5432/" in services["migrate"]["environment"]["DATABASE_URL"]
    # Only the proxy is published; web has no port of its own and trusts the proxy's address.
    published = [name for name, service in services.items() if service.get("ports")]
    assert published == ["proxy"]
    assert env["TRUSTED_PROXIES"] == services["proxy"]["networks"]["default"]["ipv4_address"]
    every = [name for name, service in services.items() if name not in ("migrate", "beat")]
    assert [name for name in every if "healthcheck" not in services[name]] == []


def test_workers_consume_separate_queues(compose: dict[str, Any]) -> None:
    queues = {}
    for name, service in compose["services"].items():
        command = service.get("command") or []
        if command[:4] == ["celery", "-A", "tweethub", "worker"]:
            queues[name] = command[command.index("-Q") + 1].split(",")
    flat = [queue for group in queues.values() for queue in group]
    assert sorted(flat) == sorted(["default", "fanout", "fanout_large", "rebuild", "mail"]), queues
    assert len(queues) == 3


def test_every_mounted_file_exists() -> None:
    for name, service in raw()["services"].items():
        for volume in service.get("volumes", []):
            source = str(volume).split(":")[0]
            if source.startswith("./"):
                assert (COMPOSE_FILE.parent / source).is_file(), f"{name} mounts {source}"
