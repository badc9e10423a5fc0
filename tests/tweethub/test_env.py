from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from tweethub.env import celery_broker_url, env_bool, env_int, env_list


def test_celery_gets_a_socket_url_it_accepts() -> None:
    assert celery_broker_url("unix:///tmp/x/redis.sock?db=3") == "redis+socket:///tmp/x/redis.sock?virtual_host=3"
    assert celery_broker_url("redis://cache:6379/2") == "redis://cache:6379/2"


def test_booleans_are_parsed_strictly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLAG", "yes")
    assert env_bool("FLAG", default=False) is True
    monkeypatch.setenv("FLAG", "0")
    assert env_bool("FLAG", default=True) is False
    monkeypatch.setenv("FLAG", "maybe")
    with pytest.raises(ImproperlyConfigured, match="FLAG"):
        env_bool("FLAG", default=False)


def test_integers_and_lists(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("N", "12")
    assert env_int("N", default=1, minimum=1) == 12
    monkeypatch.setenv("N", "0")
    with pytest.raises(ImproperlyConfigured, match="minimum"):
        env_int("N", default=1, minimum=1)
    monkeypatch.setenv("N", "ten")
    with pytest.raises(ImproperlyConfigured, match="not an integer"):
        env_int("N", default=1)
    monkeypatch.setenv("HOSTS", " a.example, b.example ,,")
    assert env_list("HOSTS", default=[]) == ["a.example", "b.example"]


def test_database_url_of_round_trips_a_socket_directory_and_password() -> None:
    import dj_database_url

    from tweethub.env import database_url_of

    params = {"HOST": "/run/tweet hub/pg", "USER": "app", "PASSWORD": "p@ss:w/rd", "PORT": 5433, "NAME": "test_x"}
    parsed = dj_database_url.parse(database_url_of(params))
    assert (parsed["HOST"], parsed["USER"], parsed["PASSWORD"], parsed["PORT"], parsed["NAME"]) == (
        "/run/tweet hub/pg",
        "app",
        "p@ss:w/rd",
        5433,
        "test_x",
    )
