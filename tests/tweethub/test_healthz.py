"""/healthz tells which part is down, and answers quickly either way."""

from __future__ import annotations

import pytest
from django.test import Client
from django.test.utils import override_settings

from devstack.servers import Redis
from tweethub.celery import app as celery_app


@pytest.mark.django_db
def test_all_up_is_200(client: Client, celery_worker: object) -> None:
    response = client.get("/healthz")
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
