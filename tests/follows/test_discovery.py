"""People you may know and the two-hop lists, against a brute-force oracle on random graphs.

The oracle is plain Python over the list of follows in creation order. It implements the documented
caps (each list starts from the viewer's newest DISCOVER_FRONTIER_LIMIT active connections and takes
each one's newest DISCOVER_HOP_LIMIT connections), and is checked both with caps larger than the
graph (the exact answer) and with tiny caps (so the caps' semantics are pinned down too).
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

import pytest
from django.db import transaction
from django.test import Client
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from accounts.models import User
from follows.models import Follow
from follows.selectors import followers_of_followers_page, friends_of_friends_page, suggestions
from tests.factories import make_user

pytestmark = pytest.mark.django_db

Edge = tuple[int, int]  # (follower index, followee index)


def connections(edges: list[Edge], person: int, direction: str) -> list[int]:
    """`person`'s followees ("following") or followers ("followers"), newest follow first."""
    found = [b for a, b in edges if a == person] if direction == "following" else [a for a, b in edges if b == person]
    return found[::-1]


def oracle_reached(
    edges: list[Edge], viewer: int, active: list[bool], direction: str, frontier_cap: int, hop_cap: int
) -> tuple[list[int], Counter[int]]:
    frontier = [v for v in connections(edges, viewer, direction) if active[v]][:frontier_cap]
    counts: Counter[int] = Counter()
    for via in frontier:
        for person in connections(edges, via, direction)[:hop_cap]:
            if person != viewer:
                counts[person] += 1
    return frontier, Counter({p: c for p, c in counts.items() if active[p]})


@st.composite
def graphs(draw: st.DrawFn) -> tuple[int, list[Edge], list[bool]]:
    """n people, each possible follow present with probability ~1/2 (dense enough that the caps
    bite and counts tie), created in a random order, some accounts deactivated."""
    n = draw(st.integers(min_value=2, max_value=9))
    present = draw(st.lists(st.booleans(), min_size=n * n, max_size=n * n))
    edges = [(a, b) for a in range(n) for b in range(n) if a != b and present[a * n + b]]
    draw(st.randoms(use_true_random=False)).shuffle(edges)
    active = draw(st.lists(st.sampled_from([True, True, True, False]), min_size=n, max_size=n))
    return n, edges, active


@hypothesis_settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(graph=graphs(), caps=st.sampled_from([(1000, 1000), (2, 2), (1, 3), (3, 1)]), page=st.integers(1, 4))
def test_ranking_matches_the_brute_force_oracle(
    graph: tuple[int, list[Edge], list[bool]], caps: tuple[int, int], page: int, settings: Any
) -> None:
    n, edges, active = graph
    active[0] = True  # the viewer is logged in, so active
    settings.DISCOVER_FRONTIER_LIMIT, settings.DISCOVER_HOP_LIMIT = caps
    with transaction.atomic():
        users = [make_user(f"g{i}", is_active=active[i]) for i in range(n)]
        ids = [user.pk for user in users]
        # One by one, so Follow ids follow the list's order ("newest" = later in the list).
        for a, b in edges:
            Follow.objects.create(follower=users[a], followee=users[b])
        viewer = ids[0]
        mine = {b for a, b in edges if a == 0}

        frontier, counts = oracle_reached(edges, 0, active, "following", *caps)
        ranked = sorted(((-c, ids[p]), p) for p, c in counts.items() if p not in mine)
        found = suggestions(viewer_id=viewer, limit=5)
        assert [(s.person.pk, s.mutual) for s in found] == [(ids[p], -key[0]) for key, p in ranked[:5]]
        for s in found:
            p = ids.index(s.person.pk)
            vias = sorted(ids[v] for v in frontier if (v, p) in edges)[:2]
            assert [u.pk for u in s.through] == vias

        for direction, read in (("following", friends_of_friends_page), ("followers", followers_of_followers_page)):
            _, counts = oracle_reached(edges, 0, active, direction, *caps)
            expected = sorted((-c, ids[p]) for p, c in counts.items())
            seen: list[tuple[int, int]] = []
            after = None
            while True:
                result = read(viewer_id=viewer, after=after, limit=page)
                seen += [(-row.connections, row.person.pk) for row in result.items]
                for row in result.items:
                    assert row.is_following == (ids.index(row.person.pk) in mine)
                if result.next_cursor is None:
                    break
                after = result.next_cursor
                assert len(seen) <= n, "pagination does not end"
            assert seen == expected, direction
        transaction.set_rollback(True)


def test_suggestions_on_a_small_graph_read_like_a_person_would_say_them() -> None:
    me, ann, bob, cat, dan, eve, fay = (make_user(name) for name in ("me", "ann", "bob", "cat", "dan", "eve", "fay"))
    for a, b in [(me, ann), (me, bob), (me, cat), (ann, dan), (bob, dan), (cat, dan), (ann, eve), (bob, eve)]:
        Follow.objects.create(follower=a, followee=b)
    Follow.objects.create(follower=ann, followee=me)  # never suggest myself
    Follow.objects.create(follower=cat, followee=fay)
    Follow.objects.create(follower=ann, followee=bob)  # already followed: not suggested
    found = suggestions(viewer_id=me.pk, limit=10)
    assert [(s.person.username, s.note) for s in found] == [
        ("dan", "Followed by @ann, @bob and 1 other you follow"),
        ("eve", "Followed by @ann and @bob"),
        ("fay", "Followed by @cat"),
    ]


def test_discover_pages_need_login_and_refuse_bad_cursors(client: Client) -> None:
    for url in ("/discover/", "/discover/friends-of-friends/", "/discover/followers/"):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")
    client.force_login(make_user("me"))
    assert client.get("/discover/nowhere/").status_code == 404
    for bad in ("x", "1", "1.", ".1", "-1.2", "1.2.3", "99999999999999999.1", "\uff11.\uff12"):
        assert client.get("/discover/friends-of-friends/", {"after": bad}).status_code == 400, bad
    assert client.get("/discover/following/", {"before": "nope"}).status_code == 400
    assert client.post("/discover/").status_code == 405


def test_discover_lists_show_the_right_people_and_paginate(client: Client, settings: Any) -> None:
    settings.TIMELINE_PAGE_SIZE = 2
    me = make_user("me")
    friends = [make_user(f"friend{i}") for i in range(3)]
    fans = [make_user(f"fan{i}") for i in range(2)]
    far = make_user("far")
    for friend in friends:
        Follow.objects.create(follower=me, followee=friend)
        Follow.objects.create(follower=friend, followee=far)
    for fan in fans:
        Follow.objects.create(follower=fan, followee=me)
        Follow.objects.create(follower=far, followee=fan)
    Follow.objects.create(follower=friends[0], followee=friends[1])
    client.force_login(me)

    def names(html: str) -> list[str]:
        return re.findall(r'<span class="person-handle">@(\w+)</span>', html)

    first = client.get("/discover/friends-of-friends/").content.decode()
    assert names(first) == ["far", "friend1"]
    assert "Followed by 3 people you follow" in first
    assert "Followed by 1 person you follow" in first
    assert "Show more" not in first

    page = client.get("/discover/followers-of-followers/").content.decode()
    assert names(page) == ["far"]
    assert "Follows 2 of your followers" in page

    page = client.get("/discover/following/").content.decode()
    assert names(page) == ["friend2", "friend1"]
    cursor = re.search(r'href="\?before=(\d+)"', page)
    assert cursor is not None
    assert names(client.get("/discover/following/", {"before": cursor.group(1)}).content.decode()) == ["friend0"]
    assert names(client.get("/discover/followers/").content.decode()) == ["fan1", "fan0"]

    suggestions_page = client.get("/discover/").content.decode()
    assert names(suggestions_page) == ["far"]
    assert "Followed by @friend0, @friend1 and 1 other you follow" in suggestions_page


def test_ranked_pages_hand_on_their_cursor(client: Client, settings: Any) -> None:
    settings.TIMELINE_PAGE_SIZE = 1
    me, a, b, x, y = (make_user(name) for name in ("me", "a", "b", "x", "y"))
    for follower, followee in [(me, a), (me, b), (a, x), (b, x), (a, y)]:
        Follow.objects.create(follower=follower, followee=followee)
    client.force_login(me)
    first = client.get("/discover/friends-of-friends/").content.decode()
    cursor = re.search(r'href="\?after=(\d+\.\d+)"', first)
    assert cursor is not None
    assert cursor.group(1) == f"2.{x.pk}"
    second = client.get("/discover/friends-of-friends/", {"after": cursor.group(1)}).content.decode()
    assert "@y" in second
    assert "@x" not in second


def test_deactivated_accounts_are_neither_listed_nor_counted() -> None:
    me, gone, ann, target = (make_user(name) for name in ("me", "gone", "ann", "target"))
    for follower, followee in [(me, gone), (me, ann), (gone, target), (ann, target), (ann, gone)]:
        Follow.objects.create(follower=follower, followee=followee)
    User.objects.filter(pk=gone.pk).update(is_active=False)
    assert [(s.person.username, s.mutual) for s in suggestions(viewer_id=me.pk, limit=5)] == [("target", 1)]
    page = friends_of_friends_page(viewer_id=me.pk, after=None, limit=5)
    assert [(row.person.username, row.connections) for row in page.items] == [("target", 1)]


def test_discover_pages_cost_a_constant_number_of_queries(client: Client, django_assert_max_num_queries: Any) -> None:
    me = make_user("me")
    people = [make_user(f"p{i}") for i in range(12)]
    for i, person in enumerate(people):
        Follow.objects.create(follower=me, followee=person)
        Follow.objects.create(follower=person, followee=me)
        Follow.objects.create(follower=person, followee=people[(i + 1) % len(people)])
    client.force_login(me)
    for url in (
        "/discover/",
        "/discover/friends-of-friends/",
        "/discover/followers-of-followers/",
        "/discover/following/",
        "/discover/followers/",
    ):
        with django_assert_max_num_queries(7):
            assert client.get(url).status_code == 200
