"""The Redis GEO index of people who share their position: the only code touching its keys.

Postgres (accounts_user.latitude / longitude) is the truth; this index only finds candidates
quickly and may be lost at any time. Keys:

- `geo:users`: a GEO set (a sorted set scored by 52-bit geohash), member = user id.
- `geo:users:ready`: present once `geo:users` holds everyone who shares. Absent after a flush or
  a restart (or before the first build), which tells readers to rebuild (accounts.services.
  geo_index_rebuild) rather than trust an empty or partial set.
- `geo:users:lock`: held by the one process rebuilding, so a flush does not set every web
  process rebuilding at once.

Readers re-check every candidate against Postgres (accounts.selectors.nearby_people), so a stale
entry can only cost a candidate, never show someone who stopped sharing.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from tweethub.redis import Role, counters
from tweethub.rediskeys import KeyFamily

KEY = "geo:users"
READY = "geo:users:ready"
LOCK = "geo:users:lock"
# Purged: the index names purged users (rebuilt from Postgres on the next nearby read).
REDIS_KEYS = (
    KeyFamily(
        key=KEY,
        role=Role.COUNTERS,
        holds="GEO set (sorted set, 52-bit geohash score) of user ids who share a position",
        rebuilt_by=(
            "`geo_index_rebuild` from Postgres on the next nearby read after `geo:users:ready` goes missing, "
            "and by beat every `GEO_REBUILD_SECONDS`"
        ),
        purge=True,
    ),
    KeyFamily(key=READY, role=Role.COUNTERS, holds="the index is complete", rebuilt_by="each rebuild", purge=True),
    KeyFamily(key=LOCK, role=Role.COUNTERS, holds="one rebuilder at a time (120 s)", rebuilt_by="n/a", purge=True),
)
# GEOADD arguments per round trip while rebuilding.
_BATCH = 2000
# Search radii, km, tried in turn until one holds enough candidates. GEOSEARCH gathers every
# member inside the radius before sorting, so a small first radius keeps dense cities cheap; the
# last one is half the Earth's circumference, i.e. everybody.
RADII_KM = (10, 100, 1_000, 20_038)


@dataclass(frozen=True)
class Candidate:
    user_id: int
    # Redis's own distance (its Earth radius, its geohash precision): for ordering candidates only.
    km: float


def place(*, user_id: int, latitude: float, longitude: float) -> None:
    """Add or move one user. Harmless while the index is not ready: a rebuild replaces the set."""
    counters().geoadd(KEY, (longitude, latitude, user_id))


def remove(*, user_id: int) -> None:
    counters().zrem(KEY, user_id)


def is_ready() -> bool:
    return bool(counters().exists(READY))


def invalidate() -> None:
    """Make the next reader rebuild (after a write that could not be applied)."""
    counters().delete(READY)


def acquire_rebuild(*, seconds: int = 120) -> str | None:
    """A token if this caller may rebuild now, None if another process already is."""
    token = uuid.uuid4().hex
    return token if counters().set(LOCK, token, nx=True, ex=seconds) else None


def release_rebuild(token: str) -> None:
    client = counters()
    # Only our own lock: after a timeout another rebuilder may hold it.
    if client.get(LOCK) == token.encode():
        client.delete(LOCK)


def install(*, positions: Iterable[tuple[int, float, float]]) -> int:
    """Replace the whole index with `positions` (user id, latitude, longitude) and mark it ready.

    Built under a fresh name and renamed over the old set, so readers see the old set or the new
    one, never a half-built one. Returns how many users were indexed.
    """
    client = counters()
    staging = f"{KEY}:new:{uuid.uuid4().hex}"
    count = 0
    batch: list[float | int] = []
    try:
        for user_id, latitude, longitude in positions:
            batch += (longitude, latitude, user_id)
            count += 1
            if len(batch) >= 3 * _BATCH:
                client.geoadd(staging, batch)
                batch = []
        if batch:
            client.geoadd(staging, batch)
        pipe = client.pipeline(transaction=True)
        if count:
            pipe.rename(staging, KEY)
        else:
            pipe.delete(KEY)
        pipe.set(READY, 1)
        pipe.execute()
    finally:
        client.delete(staging)  # a no-op after the rename
    return count


def apply(*, placed: Sequence[tuple[int, float, float]], removed: Sequence[int]) -> None:
    """Re-apply recent changes after a rebuild (positions moved or withdrawn meanwhile)."""
    client = counters()
    pipe = client.pipeline(transaction=False)
    for user_id, latitude, longitude in placed:
        pipe.geoadd(KEY, (longitude, latitude, user_id))
    if removed:
        pipe.zrem(KEY, *removed)
    pipe.execute()


def search(*, latitude: float, longitude: float, count: int) -> list[Candidate]:
    """Up to `count` indexed users nearest to the point, nearest first, by Redis's distance.

    Widens the radius until it holds `count` members or covers the globe. Ties and the last few
    places may differ from an exact haversine by geohash rounding (under a metre), so callers
    ask for a margin more than they show and re-rank exactly.
    """
    client = counters()
    rows: list[Any] = []
    for radius in RADII_KM:
        rows = client.geosearch(
            KEY, longitude=longitude, latitude=latitude, radius=radius, unit="km",
            sort="ASC", count=count, withdist=True,
        )  # fmt: skip
        if len(rows) >= count:
            break
    return [Candidate(user_id=int(member), km=float(distance)) for member, distance in rows]


def size() -> int:
    return int(counters().zcard(KEY))


def memory_usage() -> int:
    return int(counters().memory_usage(KEY) or 0)
