"""The followers and following pages: newest follow first, cursor pages, constant queries."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from accounts.models import User
from follows.services import follow_create, follow_delete
from tests.factories import make_user

pytestmark = pytest.mark.django_db

HANDLE = re.compile(r'<span class="person-handle">@(\w+)</span>')


def _handles(html: str) -> list[str]:
    """The people listed (the page header names its owner the same way: skip it)."""
    _, _, rows = html.partition('<ul class="people-list">')
    return HANDLE.findall(rows)


def _next_cursor(html: str) -> str | None:
    match = re.search(r'href="\?before=(\d+)"', html)
    return match.group(1) if match else None


def _walk(client: Client, url: str) -> list[str]:
    """Every handle over every page, following the "more" links."""
    seen: list[str] = []
    cursor: str | None = ""
    while cursor is not None:
        response = client.get(url, {"before": cursor} if cursor else {})
        assert response.status_code == 200
        html = response.content.decode()
        seen += _handles(html)
        cursor = _next_cursor(html)
    return seen


def test_followers_are_listed_newest_follow_first_across_pages_without_gaps(client: Client, settings: Any) -> None:
    settings.TIMELINE_PAGE_SIZE = 3
    star = make_user("star")
    fans = [make_user(f"fan{n}") for n in range(7)]
    for fan in fans:
        follow_create(follower=fan, followee=star)
    # Unfollowing and following again makes the newest follow, so it comes first.
    follow_delete(follower=fans[0], followee=star)
    follow_create(follower=fans[0], followee=star)

    first = client.get("/@star/followers/").content.decode()
    assert _handles(first) == ["fan0", "fan6", "fan5"]
    assert _walk(client, "/@star/followers/") == ["fan0", "fan6", "fan5", "fan4", "fan3", "fan2", "fan1"]


def test_following_page_and_exact_last_page(client: Client, settings: Any) -> None:
    settings.TIMELINE_PAGE_SIZE = 2
    reader = make_user("reader")
    for name in ("w1", "w2", "w3", "w4"):
        follow_create(follower=reader, followee=make_user(name))
    assert _walk(client, "/@reader/following/") == ["w4", "w3", "w2", "w1"]
    # Four people in pages of two: the second page is the last one and offers no empty third.
    first = client.get("/@reader/following/").content.decode()
    cursor = _next_cursor(first)
    assert cursor is not None
    second = client.get("/@reader/following/", {"before": cursor}).content.decode()
    assert _handles(second) == ["w2", "w1"]
    assert _next_cursor(second) is None


def test_rows_show_bio_and_the_viewers_follow_buttons(client: Client) -> None:
    star, viewer = make_user("star"), make_user("viewer")
    known = make_user("known", name="Known <Person>", bio="Likes <b>bold</b> claims")
    stranger = make_user("stranger")
    for fan in (known, stranger, viewer):
        follow_create(follower=fan, followee=star)
    follow_create(follower=viewer, followee=known)
    client.force_login(viewer)
    html = client.get("/@star/followers/").content.decode()
    assert "Known &lt;Person&gt;" in html
    assert "Likes &lt;b&gt;bold&lt;/b&gt; claims" in html
    assert 'action="/@known/unfollow/"' in html
    assert 'action="/@stranger/follow/"' in html
    # No button for oneself in the list.
    assert "/@viewer/follow/" not in html
    assert "/@viewer/unfollow/" not in html
    assert "<strong>3</strong> followers" in html


def test_visitors_see_log_in_links_and_inactive_people_are_hidden(client: Client) -> None:
    star = make_user("star")
    follow_create(follower=make_user("fan"), followee=star)
    follow_create(follower=make_user("ghost"), followee=star)
    User.objects.filter(username="ghost").update(is_active=False)
    html = client.get("/@star/followers/").content.decode()
    assert _handles(html) == ["fan"]
    assert "Log in to follow" in html
    assert 'href="/accounts/login/?next=/%40star/followers/"' in html


def test_empty_lists_say_so(client: Client) -> None:
    make_user("loner")
    assert "Nobody follows @loner yet." in client.get("/@loner/followers/").content.decode()
    assert "@loner does not follow anyone yet." in client.get("/@loner/following/").content.decode()


@pytest.mark.parametrize("cursor", ["abc", "-1", "0", "1.5", "\uff19", "99999999999999999999", "1e3"])
def test_malformed_cursor_is_400(client: Client, cursor: str) -> None:
    make_user("star")
    assert client.get("/@star/followers/", {"before": cursor}).status_code == 400
    assert client.get("/@star/following/", {"before": cursor}).status_code == 400


def test_unknown_user_404_wrong_case_301_and_post_405(client: Client) -> None:
    make_user("Star")
    assert client.get("/@nobody/followers/").status_code == 404
    response = client.get("/@star/following/")
    assert response.status_code == 301
    assert response["Location"] == "/@Star/following/"
    assert client.post("/@Star/followers/").status_code == 405


@pytest.mark.parametrize("which", ["followers", "following"])
def test_constant_number_of_queries_per_page(
    client: Client, settings: Any, django_assert_max_num_queries: Any, which: str
) -> None:
    settings.TIMELINE_PAGE_SIZE = 50
    hub, viewer = make_user("hub"), make_user("viewer")
    people = [make_user(f"p{n}") for n in range(40)]
    for person in people:
        if which == "followers":
            follow_create(follower=person, followee=hub)
        else:
            follow_create(follower=hub, followee=person)
    for person in people[::2]:
        follow_create(follower=viewer, followee=person)
    client.force_login(viewer)
    client.get("/@hub/")  # a session's first request may record last_active; not this page's cost
    # session user, profile, page rows, followed-among, counts
    with django_assert_max_num_queries(5):
        html = client.get(f"/@hub/{which}/").content.decode()
    assert len(_handles(html)) == 40
    assert html.count(">Unfollow</button>") == 20
