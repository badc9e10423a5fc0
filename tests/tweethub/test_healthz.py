"""/healthz tells which part is down, and answers quickly either way; what each part is (versions,
worker host names, errors) only to staff and to this machine (issue 17, item 13)."""

from __future__ import annotations

import pytest
from django.test import Client
from django.test.utils import override_settings

from devstack.servers import Redis
from tests.factories import make_user
from tweethub.celery import app as celery_app

ELSEWHERE = "203.0.113.5"


@pytest.mark.django_db
def test_all_up_is_200(client: Client, celery_worker: object) -> None:
    response = client.get("/healthz")  # the test client's address is 127.0.0.1: a local probe
    body = response.json()
    assert response.status_code == 200, body
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"postgres", "redis", "broker", "worker"}
    assert body["checks"]["postgres"]["detail"].startswith("PostgreSQL")
    assert "test-worker@localhost" in body["checks"]["worker"]["detail"]


@pytest.mark.django_db
def test_no_worker_is_503_naming_the_worker(client: Client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["failing"] == ["worker"]


@pytest.mark.django_db
def test_redis_down_is_503_naming_redis(client: Client, doomed_redis: Redis, monkeypatch: pytest.MonkeyPatch) -> None:
    url = doomed_redis.url
    broker = f"redis+socket://{doomed_redis.socket_path}?virtual_host=0"
    monkeypatch.setattr(celery_app.conf, "broker_url", broker)
    with override_settings(FEEDS_REDIS_URL=url, CACHE_REDIS_URL=url, CHANNELS_REDIS_URL=url):
        assert client.get("/healthz").json()["checks"]["redis"]["ok"] is True

        doomed_redis.stop()
        response = client.get("/healthz")

    body = response.json()
    assert response.status_code == 503
    assert "redis" in body["failing"]
    assert "broker" in body["failing"]
    assert body["checks"]["postgres"]["ok"] is True
    assert "Error" in body["checks"]["redis"]["detail"]


def _public(body: dict[str, object]) -> None:
    """Up or down per part and nothing else: no version, host name, error text or timing."""
    checks = body["checks"]
    assert isinstance(checks, dict)
    assert set(checks) == {"postgres", "redis", "broker", "worker"}
    assert all(set(check) == {"ok"} for check in checks.values())
    text = str(body)
    for revealing in ("PostgreSQL", "Valkey", "Redis ", "worker@", "localhost", "reachable", "ms"):
        assert revealing not in text


@pytest.mark.django_db
def test_the_public_answer_says_up_or_down_per_part_only(celery_worker: object) -> None:
    response = Client(REMOTE_ADDR=ELSEWHERE).get("/healthz")
    body = response.json()
    assert response.status_code == 200
    assert body["status"] == "ok"
    assert body["failing"] == []
    assert body["checks"]["worker"] == {"ok": True}
    _public(body)


@pytest.mark.django_db
def test_a_public_failure_names_the_part_and_not_why() -> None:
    member = Client(REMOTE_ADDR=ELSEWHERE)
    member.force_login(make_user("mia"))
    response = member.get("/healthz")
    body = response.json()
    assert response.status_code == 503
    assert body["failing"] == ["worker"]
    assert body["checks"]["worker"] == {"ok": False}
    assert body["checks"]["postgres"] == {"ok": True}
    _public(body)


@pytest.mark.django_db
@pytest.mark.parametrize("address", ["127.0.0.1", "127.0.0.53", "::1", "::ffff:127.0.0.1"])
def test_this_machine_sees_the_details(address: str) -> None:
    body = Client(REMOTE_ADDR=address).get("/healthz").json()
    assert body["checks"]["postgres"]["detail"].startswith("PostgreSQL")
    assert "no Celery worker answered" in body["checks"]["worker"]["detail"]


@pytest.mark.django_db
def test_staff_see_the_details_from_anywhere() -> None:
    staff = Client(REMOTE_ADDR=ELSEWHERE)
    staff.force_login(make_user("sue", is_staff=True))
    body = staff.get("/healthz").json()
    assert body["checks"]["postgres"]["detail"].startswith("PostgreSQL")
    assert body["checks"]["redis"]["ms"] >= 0


@pytest.mark.django_db
@override_settings(TRUSTED_PROXIES=["127.0.0.1"])
def test_behind_a_local_proxy_its_clients_are_not_this_machine() -> None:
    """A reverse proxy on this machine connects from loopback: what counts is its client."""
    response = Client(REMOTE_ADDR="127.0.0.1").get("/healthz", headers={"X-Forwarded-For": ELSEWHERE})
    _public(response.json())
    spoofed = Client(REMOTE_ADDR=ELSEWHERE).get("/healthz", headers={"X-Forwarded-For": "127.0.0.1"})
    _public(spoofed.json())
