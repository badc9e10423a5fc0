"""The admin panel at /admin/: who may open it, what it shows, and live figures that really move."""

from __future__ import annotations

import json
import time
from typing import Any

import django
import pytest
from django.core.cache import cache
from django.test import Client
from django.test.utils import override_settings
from django.utils import timezone

from adminpanel import figures
from adminpanel.models import PurgeRun
from follows.services import follow_create
from tests.factories import make_user
from tweethub.redis import broker as redis_broker
from tweets.services import tweet_create

OVERVIEW = "/admin/"
FIGURES = "/admin/figures.json"


def _fresh_figures(client: Client) -> dict[str, Any]:
    cache.delete(figures.FIGURES_CACHE_KEY)  # the panel caches figures for 2 s; read them now
    response = client.get(FIGURES)
    assert response.status_code == 200
    return dict(response.json())


@pytest.mark.django_db
def test_visitors_see_the_panel_in_demo_mode(client: Client) -> None:
    response = client.get(OVERVIEW)
    assert response.status_code == 200
    page = response.content.decode()
    assert "How TweetHub works" in page
    # Versions read live: the Django running this test, the Postgres and Redis it talks to.
    assert f'<td><span class="status status-ok">up</span> {django.get_version()}</td>' in page
    assert "PostgreSQL" in page
    assert "Valkey" in page or "Redis " in page
    assert "Staff only" not in page
    assert 'href="/admin/mails/"' in page
    assert 'name="to"' in page


@pytest.mark.django_db
@override_settings(DEMO_MODE=False)
@pytest.mark.parametrize("url", [OVERVIEW, FIGURES])
def test_outside_demo_mode_only_staff_may_open_it(client: Client, url: str) -> None:
    assert client.get(url).status_code == 404
    client.force_login(make_user("visitor"))
    assert client.get(url).status_code == 404
    client.force_login(make_user("operator", is_staff=True))
    assert client.get(url).status_code == 200


@pytest.mark.django_db
def test_the_mail_inbox_still_works_beside_the_panel(client: Client) -> None:
    assert client.get("/admin/mails/").status_code == 200


@pytest.mark.django_db
def test_names_are_for_staff_only(client: Client) -> None:
    make_user("zelda_private", email="zelda@secret.example")
    public = client.get(OVERVIEW).content.decode() + json.dumps(_fresh_figures(client))
    assert "zelda" not in public

    client.force_login(make_user("operator", is_staff=True))
    staff_page = client.get(OVERVIEW).content.decode()
    assert "Staff only" in staff_page
    assert "@zelda_private" in staff_page
    # The JSON is the same for everyone: aggregates only, nothing personal to leak.
    assert "zelda" not in json.dumps(_fresh_figures(client))


@pytest.mark.django_db
def test_a_visitor_is_offered_only_their_own_accounts_for_mail(client: Client) -> None:
    mine = make_user("mine")
    make_user("theirs")
    client.post("/accounts/login/", {"username": "mine", "password": "correct-horse-battery-staple"})
    page = client.get(OVERVIEW).content.decode()
    assert f'<option value="{mine.username}">' in page
    assert "theirs" not in page
    client.post("/accounts/logout/")  # mail access ends with the session (mailcatcher.access)
    assert f'<option value="{mine.username}">' not in client.get(OVERVIEW).content.decode()


@pytest.mark.django_db
def test_the_last_purge_and_the_next_are_shown(client: Client) -> None:
    PurgeRun.objects.create(
        started_at=timezone.now(),
        finished_at=timezone.now(),
        status=PurgeRun.Status.DONE,
        counts={"users": 12, "tweets": 345, "redis_keys": 67, "<b>odd key</b>": 1},
    )
    page = client.get(OVERVIEW).content.decode()
    assert "<dt>users (non-staff)</dt><dd>12</dd>" in page
    assert "<dt>tweets</dt><dd>345</dd>" in page
    assert "<dt>Redis keys</dt><dd>67</dd>" in page
    assert "odd key" not in page  # only the known kinds, as numbers
    assert "Next run" in page  # DEMO_MODE is on in tests: the purge is scheduled


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("eager_tasks")
def test_figures_move_when_people_use_the_site(client: Client) -> None:
    before = _fresh_figures(client)
    assert set(before) == {
        "generated_at", "users", "tweets", "follows", "feeds", "queue_depth", "open_sockets", "services", "fanout",
        "tweets_per_hour",
    }  # fmt: skip
    assert before["tweets"] == 0
    assert before["users"] == 0

    author = make_user("author", last_active=timezone.now())
    fan = make_user("fan", last_active=timezone.now())
    follow_create(follower=fan, followee=author)
    client.force_login(fan)
    assert client.get("/").status_code == 200  # reading the home page builds fan's feed in Redis
    tweet_create(author=author, text="count me")

    after = _fresh_figures(client)
    assert (after["users"], after["tweets"], after["follows"]) == (2, 1, 1)
    feeds_figure = after["feeds"]
    assert isinstance(feeds_figure, dict)
    assert feeds_figure["count"] >= 1
    assert feeds_figure["memory_bytes"] > 0
    assert feeds_figure["memory_sampled"] is False
    hours = after["tweets_per_hour"]
    assert isinstance(hours, list)
    assert len(hours) == 24
    assert hours[-1]["count"] == 1
    fanout = after["fanout"]
    assert isinstance(fanout, dict)
    assert fanout["samples"] == 1
    assert fanout["p50"] is not None
    buckets = fanout["buckets"]
    assert len(buckets) == 12
    assert buckets[-1]["samples"] == 1


@pytest.mark.django_db
def test_queue_depth_is_the_brokers_queue(client: Client) -> None:
    broker = redis_broker()
    broker.rpush("default", "task-1", "task-2")
    broker.rpush("fanout\x06\x163", "task-3")  # kombu's list for priority 3 of another queue
    broker.rpush("rebuild", "task-4")
    assert _fresh_figures(client)["queue_depth"] == 4


@pytest.mark.django_db
def test_figures_are_cached_briefly(client: Client) -> None:
    first = _fresh_figures(client)
    make_user("late")
    assert client.get(FIGURES).json()["users"] == first["users"]  # within the cache period
    time.sleep(figures.FIGURES_CACHE_SECONDS + 0.2)
    assert client.get(FIGURES).json()["users"] == first["users"] + 1
