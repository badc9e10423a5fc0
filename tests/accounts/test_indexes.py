"""The indexes of the two widest-written tables, and what reads and writes them (issue 20, point 4)."""

from __future__ import annotations

import time

import pytest
from django.db import connection

from accounts import authcache
from accounts.models import User
from accounts.services import last_active_flush
from tests.factories import make_user


def _indexes(table: str) -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename = %s", [table])
        return {name for (name,) in cursor.fetchall()}


@pytest.mark.django_db
def test_follows_and_users_keep_only_the_indexes_a_query_reads() -> None:
    """Each name is documented in docs/architecture.md (Postgres) with the query it serves. A new
    index must be added there too: every follow and every user write pays for each one."""
    assert _indexes("follows_follow") == {
        "follows_follow_pkey",
        "follows_unique_pair",
        "follows_followee_follower",
        "follows_followee_id_desc",
        "follows_follower_id_desc",
    }
    assert _indexes("accounts_user") == {
        "accounts_user_pkey",
        "accounts_user_username_ci_unique",
        "accounts_user_email_ci_unique",
        "accounts_user_username_trgm",
        "accounts_user_name_trgm",
        "accounts_user_sharing",
        "accounts_user_inactive",
        "accounts_user_location_changed",
    }


def _plan(queryset: object) -> str:
    sql, params = queryset.query.sql_with_params()  # type: ignore[attr-defined]
    with connection.cursor() as cursor:
        # On a tiny test table a sequential scan is cheapest; forbid it, so the plan shows whether
        # an index can serve the lookup at all.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + sql, params)
        return "\n".join(row[0] for row in cursor.fetchall())


@pytest.mark.django_db
def test_case_insensitive_lookups_use_the_lower_indexes() -> None:
    """Django's iexact compares UPPER() on PostgreSQL, which no index served: each profile page,
    login and "username taken?" was a sequential scan. The fields' iexact is LOWER() = LOWER()."""
    make_user("Mixed_Case", email="Mixed@Example.com")
    assert "accounts_user_username_ci_unique" in _plan(User.objects.filter(username__iexact="mixed_CASE"))
    assert "accounts_user_email_ci_unique" in _plan(User.objects.filter(email__iexact="MIXED@example.com"))
    assert User.objects.get_by_natural_key("MIXED_case").username == "Mixed_Case"
    assert User.objects.filter(email__iexact="mixed@EXAMPLE.com").count() == 1
    assert not User.objects.filter(username__iexact="mixed_cas").exists()


def _update_counts() -> tuple[int, int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_stat_get_xact_tuples_updated('accounts_user'::regclass),"
            " pg_stat_get_xact_tuples_hot_updated('accounts_user'::regclass)"
        )
        row = cursor.fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


@pytest.mark.django_db
def test_the_last_active_flush_is_a_hot_update() -> None:
    """With last_active unindexed and room left on each page (fillfactor 90), the flush rewrites a
    row in place and inserts nothing into the table's 8 indexes (two of them GIN). Indexed, as it
    was, not one of these updates was HOT. Counted by Postgres for this transaction."""
    users = [make_user(f"u{i}") for i in range(120)]
    now_ms = int(time.time() * 1000)
    for user in users[::15]:
        authcache.activity_record(user_id=user.pk, now_ms=now_ms)
    updated_before, hot_before = _update_counts()
    assert last_active_flush() == 8
    updated, hot = (
        after - before for after, before in zip(_update_counts(), (updated_before, hot_before), strict=True)
    )
    assert (updated, hot) == (8, 8)
