"""What one admin panel load costs, and where its worker status comes from.

The panel used to run the /healthz checks and two Celery pings on every load (a ping waits its
whole one-second timeout to hear every worker): 1.1-1.8 s a page. Versions now come with the cached
figures and workers from the heartbeats they write to Postgres, so a warm page is a few queries
and one Redis round trip, pinned here like the home page is.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from adminpanel import figures
from adminpanel.models import WorkerHeartbeat
from adminpanel.services import heartbeat_record
from tests.conftest import RedisRoundTrips
from tests.factories import make_user
from tweethub.redis import broker as redis_broker

pytestmark = pytest.mark.django_db

OVERVIEW = "/admin/"


def _celery_row(html: str) -> str:
    return html.split('<th scope="row">Celery</th>', 1)[1].split("</tr>", 1)[0]


def _fresh_figures(client: Client) -> dict[str, Any]:
    cache.delete(figures.FIGURES_CACHE_KEY)
    return dict(client.get("/admin/figures.json").json())


def test_a_warm_panel_for_a_visitor_is_one_query_and_one_round_trip(
    client: Client, redis_round_trips: RedisRoundTrips, django_assert_num_queries: Any
) -> None:
    heartbeat_record(worker="worker@one")
    assert client.get(OVERVIEW).status_code == 200  # computes and caches the figures
    redis_round_trips.clear()
    with django_assert_num_queries(1):  # the last purge
        response = client.get(OVERVIEW)
    assert response.status_code == 200
    assert redis_round_trips.count == 1, redis_round_trips.sent  # the cached figures
    assert redis_round_trips.sent == ["GET"]
    assert 'data-status="workers">up</span>' in _celery_row(response.content.decode())


def test_a_warm_panel_for_staff_adds_only_the_names(
    client: Client, redis_round_trips: RedisRoundTrips, django_assert_num_queries: Any
) -> None:
    heartbeat_record(worker="worker@one")
    client.force_login(make_user("operator", is_staff=True))
    assert client.get(OVERVIEW).status_code == 200
    redis_round_trips.clear()
    # The last purge, the newest accounts and the workers' names.
    with django_assert_num_queries(3):
        response = client.get(OVERVIEW)
    assert response.status_code == 200
    # The session and user (accounts.authcache), then the cached figures.
    assert redis_round_trips.count == 2, redis_round_trips.sent
    assert "<li><code>worker@one</code></li>" in response.content.decode()


def test_workers_are_the_ones_with_a_fresh_heartbeat(client: Client) -> None:
    heartbeat_record(worker="worker@fresh")
    heartbeat_record(worker="worker@gone")
    stale = timezone.now() - timedelta(seconds=figures.WORKER_ONLINE_SECONDS + 1)
    WorkerHeartbeat.objects.filter(worker="worker@gone").update(last_seen=stale)

    assert _fresh_figures(client)["services"]["workers"] == 1
    row = _celery_row(client.get(OVERVIEW).content.decode())
    assert '<span class="status status-ok" data-status="workers">up</span>' in row
    assert '<span data-figure="workers">1 worker online</span>' in row

    client.force_login(make_user("operator", is_staff=True))
    page = client.get(OVERVIEW).content.decode()
    assert "worker@fresh" in page
    assert "worker@gone" not in page


def test_without_a_fresh_heartbeat_the_worker_is_down_and_one_heartbeat_is_asked_for(client: Client) -> None:
    broker = redis_broker()
    assert _fresh_figures(client)["services"]["workers"] == 0
    row = _celery_row(client.get(OVERVIEW).content.decode())
    assert '<span class="status status-down" data-status="workers">down</span>' in row
    assert '<span data-figure="workers">0 workers online</span>' in row
    # One heartbeat task waits in the broker for a worker; asking again within the beat period
    # (other polls, other processes) queues no second one.
    assert broker.llen("default") == 1  # heartbeats go to the default queue (tweethub.queues)
    _fresh_figures(client)
    _fresh_figures(client)
    assert broker.llen("default") == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("eager_tasks")
def test_the_heartbeat_asked_for_shows_the_worker_on_the_next_figures(client: Client) -> None:
    assert _fresh_figures(client)["services"]["workers"] == 0  # asks; the (eager) worker answers
    assert WorkerHeartbeat.objects.count() == 1
    assert _fresh_figures(client)["services"]["workers"] == 1


def test_versions_come_with_the_figures(client: Client) -> None:
    services = _fresh_figures(client)["services"]
    assert services["postgres"][:2].isdigit()
    assert services["redis"].startswith(("Valkey ", "Redis "))
    assert services["redis_ok"] is True
    page = client.get(OVERVIEW).content.decode()
    assert f'<td><span class="status status-ok">up</span> {services["postgres"]}</td>' in page
    assert f'<td><span class="status status-ok">up</span> {services["redis"]}</td>' in page
