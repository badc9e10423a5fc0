"""The home page assembled from a kept frame (timelines.page): nothing of the request that rendered
a frame first may reach another request: not its CSRF token, not its messages, not its member."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import User
from follows.services import follow_create
from tests.factories import make_user
from timelines import page as home_page
from timelines import services
from tweethub.redis import feeds
from tweets import trends
from tweets.services import tweet_create
from tweets.templatetags import trending

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("eager_tasks")]


def _member(name: str) -> User:
    return make_user(name, last_active=timezone.now())


def _tokens(html: str) -> set[str]:
    return set(re.findall(r'name="csrfmiddlewaretoken" value="([^"]+)"', html))


@pytest.fixture(autouse=True)
def _fresh_frames() -> None:
    home_page.forget()
    trending.forget()


def test_the_frame_is_kept_and_each_request_gets_its_own_working_tokens() -> None:
    ann = _member("ann")
    first, second = Client(enforce_csrf_checks=True), Client(enforce_csrf_checks=True)
    first.force_login(ann)
    second.force_login(ann)  # the same member in another browser: another CSRF secret
    page_one = first.get("/").content.decode()
    page_two = second.get("/").content.decode()

    assert len(home_page._frames) == 1  # one frame served both
    one, two = _tokens(page_one), _tokens(page_two)
    assert len(one) == 1  # one masked token for every form of the page (logout, compose)
    assert one.isdisjoint(two)
    # Each browser's token works for that browser only.
    assert second.post("/tweets/", {"text": "from two", "csrfmiddlewaretoken": one.pop()}).status_code == 403
    assert second.post("/tweets/", {"text": "from two", "csrfmiddlewaretoken": two.pop()}).status_code == 302


def test_members_never_see_each_others_frame() -> None:
    ann, bob = _member("ann"), _member("bob")
    for member in (ann, bob):
        client = Client()
        client.force_login(member)
        html = client.get("/").content.decode()
        assert f'href="/@{member.username}/"' in html
        other = bob if member == ann else ann
        assert f'href="/@{other.username}/"' not in html
    assert len(home_page._frames) == 2


def test_messages_are_shown_once_and_never_kept(client: Client) -> None:
    ann = _member("ann")
    client.force_login(ann)
    response = client.post("/tweets/", {"text": "hello"}, follow=True)
    assert "Your tweet is posted." in response.content.decode()
    assert home_page._frames == {}  # the page with a message was rendered whole
    again = client.get("/").content.decode()
    assert "Your tweet is posted." not in again
    assert "hello" in again
    assert len(home_page._frames) == 1


def test_the_assembled_page_equals_the_whole_rendering(client: Client, settings: Any) -> None:
    reader, friend = _member("reader"), _member("friend")
    follow_create(follower=reader, followee=friend)
    services.feed_rebuild(user_id=reader.pk)
    for n in range(3):
        tweet_create(author=friend, text=f"#frame {n}")
    tweet_create(author=reader, text="mine")
    client.force_login(reader)

    assembled = client.get("/").content.decode()
    whole = client.get("/", {"unused": "1"}).content.decode()  # a query string: rendered whole

    def normal(html: str) -> str:
        return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "TOKEN", html).replace("/?unused=1", "/")

    assert normal(assembled) == normal(whole)


def test_a_new_trend_reaches_the_frame_after_the_sidebar_window(client: Client, settings: Any) -> None:
    settings.TRENDS_SIDEBAR_SECONDS = 0
    ann = _member("ann")
    client.force_login(ann)
    trends.record(["first"])
    assert "#first" in client.get("/").content.decode()
    trends.record(["second", "second"])
    feeds().delete(trends.CACHE_KEY)  # the ranking's own minute in Redis, not what is tested here
    assert "#second" in client.get("/").content.decode()
    assert len(home_page._frames) == 2  # the frame follows the sidebar it shows
