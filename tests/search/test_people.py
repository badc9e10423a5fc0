"""People search: pg_trgm on lower(username) / lower(name), exact and prefix usernames first."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection

from accounts.selectors import search_users
from tests.factories import make_user

pytestmark = pytest.mark.django_db


def _usernames(query: str, **kwargs: Any) -> list[str]:
    return [user.username for user in search_users(query, **kwargs)]


def test_exact_username_first_then_prefixes_then_similar_names() -> None:
    make_user("robin_hood", name="Robin of Locksley")
    make_user("rob", name="Someone Else")
    make_user("robert", name="Bob Smith")
    make_user("xyz", name="Rob Roy")
    make_user("unrelated", name="Marian")
    assert _usernames("rob") == ["rob", "robert", "robin_hood", "xyz"]


def test_case_insensitive_and_by_part_of_a_name() -> None:
    make_user("Wonder", name="Alice Liddell")
    make_user("hatter", name="Mad Hatter")
    assert _usernames("LIDD") == ["Wonder"]
    assert _usernames("alice liddell") == ["Wonder"]
    assert _usernames("wONDER") == ["Wonder"]
    assert _usernames("  hatter ") == ["hatter"]


def test_similar_but_misspelt_names_are_found() -> None:
    make_user("chris", name="Christopher Robin")
    assert _usernames("christoper") == ["chris"]


def test_inactive_users_are_hidden() -> None:
    make_user("alive", name="Sam Active")
    make_user("asleep", name="Sam Gone", is_active=False)
    assert _usernames("sam") == ["alive"]


def test_limit_and_no_match() -> None:
    for n in range(30):
        make_user(f"many{n}")
    assert len(_usernames("many", limit=20)) == 20
    assert _usernames("many0")[0] == "many0"
    assert _usernames("qqqqqq") == []


@pytest.mark.parametrize("query", ["", "   ", "%", "_", "%%%", "'; drop table accounts_user; --", "\x00", "<>"])
def test_hostile_or_empty_queries_match_nobody_and_never_fail(query: str) -> None:
    make_user("a_b", name="Percent %")
    assert _usernames(query) == []


def test_like_wildcards_are_literal() -> None:
    make_user("a_b")
    make_user("axb")
    # "_" is a LIKE wildcard; escaped, "a_" is a prefix of a_b only.
    assert _usernames("a_") == ["a_b"]


def test_the_trigram_indexes_serve_the_search() -> None:
    for n in range(200):
        make_user(f"filler{n}", name=f"Filler Person {n}")
    make_user("needle", name="Nadia Needleman")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE accounts_user")
        cursor.execute("SET LOCAL enable_seqscan = off")
    queryset_sql = str(_query_for("needle"))
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + queryset_sql)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "accounts_user_username_trgm" in plan
    assert "accounts_user_name_trgm" in plan


def _query_for(query: str) -> Any:
    """The SQL search_users runs, captured (parameters inlined by Django's debug cursor)."""
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        search_users(query)
    return captured.captured_queries[-1]["sql"]
