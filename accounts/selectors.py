"""Reads of the accounts app."""

from __future__ import annotations

import logging
import math
from collections.abc import Collection
from dataclasses import dataclass

import redis
from django.contrib.postgres.search import TrigramSimilarity, TrigramWordSimilarity
from django.db import connection
from django.db.models import Case, IntegerField, Q, Value, When
from django.db.models.functions import Greatest, Lower

from accounts import geo
from accounts.models import User, UserStats

logger = logging.getLogger(__name__)


def username_taken(username: str) -> bool:
    return User.objects.filter(username__iexact=username.strip()).exists()


def email_taken(email: str) -> bool:
    return User.objects.filter(email__iexact=email.strip()).exists()


def profile_by_username(username: str) -> User:
    """The active user with this username in any capitalisation; User.DoesNotExist otherwise."""
    return User.objects.get(username__iexact=username, is_active=True)


def is_suspended(username: str) -> bool:
    return User.objects.filter(username__iexact=username, suspended_at__isnull=False).exists()


def active_usernames(names: Collection[str]) -> frozenset[str]:
    """The lower-cased `names` that are active accounts' usernames (any capitalisation): one query
    on the unique index of lower(username), none for no names. Inactive (suspended) accounts do not
    count: their profile is a 404 page."""
    if not names:
        return frozenset()
    found = (
        User.objects.annotate(lusername=Lower("username"))
        .filter(lusername__in=list(names), is_active=True)
        .values_list("lusername", flat=True)
    )
    return frozenset(found)


# Exact counts: the UserStats row plus the follower changes still waiting in the account's shards
# (accounts.models.FollowerShard), in one statement, so a fold committing meanwhile is seen either
# wholly or not at all. A user without a row reads zeros.
_STATS_SQL = """
    SELECT ids.id,
           GREATEST(COALESCE(s.followers, 0) + COALESCE(
               (SELECT sum(f.followers) FROM accounts_followershard f WHERE f.user_id = ids.id), 0), 0),
           COALESCE(s.following, 0), COALESCE(s.tweets, 0), COALESCE(s.fanout_mode, 'push')
    FROM unnest(%s::bigint[]) AS ids(id) LEFT JOIN accounts_userstats s ON s.user_id = ids.id
"""


def stats_of(user_ids: Collection[int]) -> dict[int, UserStats]:
    """Exact counters of each user (zeros for one who has none yet), in one query (none for no
    ids). Not saved: read-only."""
    if not user_ids:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(_STATS_SQL, [list(user_ids)])
        rows = cursor.fetchall()
    return {
        pk: UserStats(user_id=pk, followers=followers, following=following, tweets=tweets, fanout_mode=mode)
        for pk, followers, following, tweets, mode in rows
    }


def stats_for(user_id: int) -> UserStats:
    """Exact counters (zeros for a user who has none yet), one query. Not saved: read-only."""
    return stats_of([user_id])[user_id]


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


# --- People nearby -------------------------------------------------------------------------------

# Mean Earth radius (IUGG), km. Only distances shown to people use it; ordering does not depend on it.
EARTH_RADIUS_KM = 6371.0088
# Candidates asked of the index beyond those shown: the index's own distances differ from the exact
# ones by geohash rounding, and a few candidates may have stopped sharing since they were indexed.
NEARBY_MARGIN = 10


@dataclass(frozen=True)
class NearbyPerson:
    person: User
    # Exact great-circle distance from the viewer's shared position, km. Never shown: see `km`.
    exact_km: float

    @property
    def km(self) -> int:
        """What people see: whole kilometres, rounded half up, and never under 1."""
        return max(1, math.floor(self.exact_km + 0.5))

    @property
    def note(self) -> str:
        return f"{self.km:,} km away"


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi, dlambda = phi2 - phi1, math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def nearby_people(*, viewer: User, limit: int, use_index: bool = True) -> list[NearbyPerson]:
    """The `limit` active users nearest to the viewer's shared position, nearest first (ties by
    id), without the viewer. Empty when the viewer does not share a position.

    Candidates come from the Redis GEO index (rebuilt from Postgres first when it was lost), or
    from a Postgres scan when Redis is unavailable or another process is mid-rebuild. Either way
    every candidate is re-read from Postgres, so whoever stopped sharing is gone at once, and
    distances come from the stored (snapped) positions, never from Redis. `use_index=False` takes
    the Postgres scan alone (the benchmark's baseline).
    """
    lat, lon = viewer.latitude, viewer.longitude
    if lat is None or lon is None:
        return []
    wanted = limit + NEARBY_MARGIN + 1  # +1: the viewer is indexed too
    candidate_ids: list[int] | None = None
    try:
        if use_index:
            candidate_ids = _indexed_candidates(latitude=lat, longitude=lon, count=wanted)
    except redis.RedisError:
        logger.warning("GEO index unavailable; nearby people from Postgres", exc_info=True)
        candidate_ids = None
    if candidate_ids is None:
        candidate_ids = _scanned_candidates(latitude=lat, longitude=lon, count=wanted)
    people = User.objects.filter(pk__in=candidate_ids, is_active=True, latitude__isnull=False).exclude(pk=viewer.pk)
    rows = [
        NearbyPerson(person=person, exact_km=haversine_km(lat, lon, person.latitude, person.longitude))
        for person in people
        if person.latitude is not None and person.longitude is not None
    ]
    rows.sort(key=lambda row: (row.exact_km, row.person.pk))
    return rows[:limit]


def _indexed_candidates(*, latitude: float, longitude: float, count: int) -> list[int] | None:
    """Ids from the GEO index, or None when it is being rebuilt elsewhere."""
    if not geo.is_ready():
        from accounts.services import geo_index_rebuild  # a read that repairs the cache

        if geo_index_rebuild() is None:
            return None
    return [candidate.user_id for candidate in geo.search(latitude=latitude, longitude=longitude, count=count)]


def _scanned_candidates(*, latitude: float, longitude: float, count: int) -> list[int]:
    """The same answer from Postgres alone: every sharer's distance, sorted (accounts_user_sharing
    limits the scan to people who share). The fallback, and the benchmark's baseline."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT id FROM accounts_user
            WHERE latitude IS NOT NULL AND is_active
            ORDER BY asin(sqrt(
                power(sin(radians(latitude - %(lat)s) / 2), 2)
                + cos(radians(%(lat)s)) * cos(radians(latitude)) * power(sin(radians(longitude - %(lon)s) / 2), 2)
            )), id
            LIMIT %(count)s
            """,
            {"lat": latitude, "lon": longitude, "count": count},
        )
        return [row[0] for row in cursor.fetchall()]
