"""Reads of the accounts app."""

from __future__ import annotations

from django.contrib.postgres.search import TrigramSimilarity, TrigramWordSimilarity
from django.db.models import Case, IntegerField, Q, Value, When
from django.db.models.functions import Greatest, Lower

from accounts.models import User, UserStats


def username_taken(username: str) -> bool:
    return User.objects.filter(username__iexact=username.strip()).exists()


def email_taken(email: str) -> bool:
    return User.objects.filter(email__iexact=email.strip()).exists()


def profile_by_username(username: str) -> User:
    """The active user with this username in any capitalisation; User.DoesNotExist otherwise."""
    return User.objects.get(username__iexact=username, is_active=True)


def stats_for(user_id: int) -> UserStats:
    """Exact counters (zeros for a user who has none yet). Not saved: read-only."""
    return UserStats.objects.filter(user_id=user_id).first() or UserStats(user_id=user_id)


def search_users(query: str, *, limit: int = 20) -> list[User]:
    """Active people whose username or display name resembles `query`, best match first.

    Matching (each test is served by the GIN trigram indexes on lower(username) / lower(name)):
    username prefix, or pg_trgm similarity (`%`) of the whole username or name, or word similarity
    (`%>`: the query resembles a word or run of words in it, so "lidd" finds "Alice Liddell").
    Ranking: exact username, then username prefix, then the best word similarity, then whole-string
    similarity (shorter, closer names first), then username. Any text is safe: LIKE wildcards
    are escaped, NUL bytes dropped, and a query with no letters or digits matches nobody.
    """
    q = query.replace("\x00", "").strip().lower()
    if not any(char.isalnum() for char in q):
        return []
    tier = Case(
        When(lusername=q, then=Value(0)),
        When(lusername__startswith=q, then=Value(1)),
        default=Value(2),
        output_field=IntegerField(),
    )
    queryset = (
        User.objects.alias(lusername=Lower("username"), lname=Lower("name"))
        .filter(
            Q(lusername__startswith=q)
            | Q(lusername__trigram_similar=q)
            | Q(lname__trigram_similar=q)
            | Q(lusername__trigram_word_similar=q)
            | Q(lname__trigram_word_similar=q),
            is_active=True,
        )
        .order_by(
            tier,
            Greatest(TrigramWordSimilarity(q, "lusername"), TrigramWordSimilarity(q, "lname")).desc(),
            Greatest(TrigramSimilarity("lusername", q), TrigramSimilarity("lname", q)).desc(),
            "lusername",
        )
    )
    return list(queryset[:limit])
