"""The trending sidebar is kept in process memory for TRENDS_SIDEBAR_SECONDS
(tweets.templatetags.trending): a warm page asks Redis nothing for it, and a new trend shows after
the window. Real Redis; round trips counted at redis-py's socket (tests/conftest.py)."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from django.template.loader import render_to_string
from django.test import Client

from tests.factories import make_user
from tweethub.redis import feeds
from tweets import trends
from tweets.models import Tweet

pytestmark = pytest.mark.django_db


def _sidebar_tags(html: str) -> list[str]:
    return re.findall(r'<a href="/tags/[^"]+/"><bdi>#([^<]+)</bdi></a>', html)


def test_a_warm_page_makes_no_trends_round_trip(redis_round_trips: Any) -> None:
    ann = make_user("ann")
    tweet = Tweet.objects.create(author=ann, text="#kept and #cached")
    trends.record(["kept", "cached", "kept"])
    client = Client()
    client.force_login(ann)
    client.get(f"/tweets/{tweet.pk}/")  # warm: connections made, sidebar kept

    redis_round_trips.clear()
    assert _sidebar_tags(render_to_string("tweets/_trending_sidebar.html")) == ["kept", "cached"]
    assert redis_round_trips.count == 0, redis_round_trips.sent

    for path in (f"/tweets/{tweet.pk}/", "/tags/kept/", "/"):
        client.get(path)  # each page's own Redis reads warmed up
        redis_round_trips.clear()
        response = client.get(path)
        assert _sidebar_tags(response.content.decode()) == ["kept", "cached"], path
        assert "ZREVRANGE" not in redis_round_trips.sent, (path, redis_round_trips.sent)


def test_a_new_trend_shows_after_the_window(settings: Any, redis_round_trips: Any) -> None:
    settings.TRENDS_SIDEBAR_SECONDS = 1
    trends.record(["first"])
    assert _sidebar_tags(render_to_string("tweets/_trending_sidebar.html")) == ["first"]
    trends.record(["second", "second"])
    feeds().delete(trends.CACHE_KEY)  # what the ranking's minute in Redis passing does

    redis_round_trips.clear()
    assert _sidebar_tags(render_to_string("tweets/_trending_sidebar.html")) == ["first"]  # kept
    assert redis_round_trips.count == 0

    time.sleep(1.1)
    assert _sidebar_tags(render_to_string("tweets/_trending_sidebar.html")) == ["second", "first"]


def test_an_empty_sidebar_is_not_kept_so_the_first_tag_shows_at_once() -> None:
    assert "No hashtags in the last 24 hours yet." in render_to_string("tweets/_trending_sidebar.html")
    trends.record(["fresh"])
    assert _sidebar_tags(render_to_string("tweets/_trending_sidebar.html")) == ["fresh"]


def test_tags_stay_escaped_in_the_kept_sidebar() -> None:
    trends.record(['<img src=x onerror="alert(1)">'])
    for _ in range(2):
        html = render_to_string("tweets/_trending_sidebar.html")
        assert "<img" not in html
        assert "#&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in html


def test_with_debug_on_the_sidebar_is_read_every_time(settings: Any) -> None:
    settings.DEBUG = True
    trends.record(["one"])
    assert _sidebar_tags(render_to_string("tweets/_trending_sidebar.html")) == ["one"]
    trends.record(["two", "two"])
    feeds().delete(trends.CACHE_KEY)
    assert _sidebar_tags(render_to_string("tweets/_trending_sidebar.html")) == ["two", "one"]
