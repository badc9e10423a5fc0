from __future__ import annotations

from typing import Any

import pytest

from accounts.models import User
from tests.factories import make_user
from tweethub.paging import Page, cut, older_than


@pytest.mark.django_db
def test_older_than_walks_every_row_once_newest_first_one_query_a_page(django_assert_num_queries: Any) -> None:
    people = [make_user() for _ in range(7)]
    ours = User.objects.filter(pk__in=[person.pk for person in people])
    seen: list[User] = []
    cursors: list[int | None] = []
    before = None
    while True:
        with django_assert_num_queries(1):
            page = older_than(ours, before=before, limit=3)
        seen += page.items
        cursors.append(page.next_cursor)
        if page.next_cursor is None:
            break
        assert page.next_query == f"before={page.items[-1].pk}"
        before = page.next_cursor
    assert seen == sorted(people, key=lambda person: person.pk, reverse=True)
    # 7 rows in pages of 3: the third page is the last, and says so without a fourth query.
    assert len(cursors) == 3
    assert page.next_query == ""


@pytest.mark.django_db
def test_older_than_a_full_last_page_has_no_cursor_and_ids_are_their_own_cursor() -> None:
    people = [make_user() for _ in range(4)]
    ids = User.objects.filter(pk__in=[person.pk for person in people]).values_list("id", flat=True)
    first = older_than(ids, before=None, limit=2)
    assert first.items == [people[3].pk, people[2].pk]
    assert first.next_cursor == people[2].pk
    last = older_than(ids, before=first.next_cursor, limit=2)
    assert (last.items, last.next_cursor) == ([people[1].pk, people[0].pk], None)


def test_cut_keeps_a_ranked_cursor_and_with_items_keeps_the_cursor() -> None:
    ranked = [(5, 10), (3, 7), (3, 9)]  # (connections, user id), best first
    page = cut(ranked, limit=2, cursor=lambda row: row)
    assert page == Page(items=[(5, 10), (3, 7)], next_cursor=(3, 7))
    assert page.next_query == "after=3.7"
    assert page.with_items(["a", "b"]) == Page(items=["a", "b"], next_cursor=(3, 7))
    assert cut(ranked[:2], limit=2, cursor=lambda row: row).next_cursor is None
