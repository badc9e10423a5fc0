"""The shared position for "people nearby" and its Redis GEO index."""

from __future__ import annotations

import contextlib
import logging
import math
from collections.abc import Callable
from datetime import timedelta

import redis
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts import authcache, geo
from accounts.models import User
from tweethub.ratelimit import hit, rate_setting

logger = logging.getLogger(__name__)

logger = logging.getLogger(__name__)

# Redis GEO cannot index nearer the poles than this (Web Mercator's limit, 85.05112878 degrees).
MAX_SHARED_LATITUDE = 85.0
# Decimal places kept: 0.01 degree is ~1.1 km north-south (less east-west away from the equator).
# Distances are shown in whole km, never under 1; snapping too means that someone moving their own
# position around to watch the rounding flip (trilateration) learns a grid cell, not an address.
LOCATION_DECIMALS = 2


def location_share(*, user: User, latitude: float, longitude: float) -> User:
    """Start sharing a position, or move it: it is snapped to the grid, saved, then indexed.

    Rate-limited per user (each move is a probe of everyone's distance). Raises ValidationError
    for a position out of range. The GEO index is written after commit; if Redis refuses, the
    index is marked stale so the next reader rebuilds it from Postgres.
    """
    if not (math.isfinite(latitude) and math.isfinite(longitude)):
        raise ValidationError("Give the position as two numbers.")
    if not -MAX_SHARED_LATITUDE <= latitude <= MAX_SHARED_LATITUDE:
        raise ValidationError(
            {"latitude": f"Latitude must be between -{MAX_SHARED_LATITUDE:g} and {MAX_SHARED_LATITUDE:g}."}
        )
    if not -180 <= longitude <= 180:
        raise ValidationError({"longitude": "Longitude must be between -180 and 180."})
    hit(
        scope="location",
        key=str(user.pk),
        rate=rate_setting("RATE_LIMIT_LOCATION_PER_USER"),
        message="You have moved your position many times. Please try again later.",
    )
    # -0.0 would print as "-0" in the settings form; 180 and -180 are the same meridian.
    lat = round(latitude, LOCATION_DECIMALS) + 0.0
    lon = round(longitude, LOCATION_DECIMALS) + 0.0
    if lon == 180.0:
        lon = -180.0
    user.latitude, user.longitude, user.location_updated_at = lat, lon, timezone.now()
    with transaction.atomic():
        user.save(update_fields=["latitude", "longitude", "location_updated_at"])
        user_id = user.pk
        authcache.forget_after_commit(user_ids=[user_id])
        transaction.on_commit(lambda: geo_write(lambda: geo.place(user_id=user_id, latitude=lat, longitude=lon)))
    return user


def location_stop(*, user: User) -> User:
    """Stop sharing: the position is erased from Postgres and dropped from the index. Readers
    check Postgres too, so the user leaves every result as soon as this commits. Idempotent."""
    user.latitude = user.longitude = None
    user.location_updated_at = timezone.now()
    with transaction.atomic():
        user.save(update_fields=["latitude", "longitude", "location_updated_at"])
        user_id = user.pk
        authcache.forget_after_commit(user_ids=[user_id])
        transaction.on_commit(lambda: geo_write(lambda: geo.remove(user_id=user_id)))
    return user


def geo_write(write: Callable[[], None]) -> None:
    try:
        write()
    except redis.RedisError:
        logger.warning("GEO index write failed; marking the index for a rebuild", exc_info=True)
        # Redis is down: when it comes back empty, the missing ready key triggers the rebuild.
        with contextlib.suppress(redis.RedisError):
            geo.invalidate()


def geo_index_rebuild(*, replay_seconds: int = 60) -> int | None:
    """Rebuild the GEO index from Postgres. None when another process is already rebuilding,
    else how many users are indexed.

    Users may share, move or stop while it runs: their own after-commit writes may land in the old
    set, which the rename then discards. So, once the new set is live, every change made since
    shortly before the rebuild began (`replay_seconds` covers transactions that started earlier
    and committed during the scan) is re-applied from Postgres. Later writes go to the new set.
    """
    token = geo.acquire_rebuild()
    if token is None:
        return None
    try:
        started = timezone.now()
        sharing = User.objects.filter(latitude__isnull=False, is_active=True)
        rows = sharing.values_list("pk", "latitude", "longitude").order_by().iterator(chunk_size=5000)
        count = geo.install(positions=((pk, lat, lon) for pk, lat, lon in rows if lat is not None and lon is not None))
        since = started - timedelta(seconds=replay_seconds)
        changed = User.objects.filter(location_updated_at__gte=since).values_list(
            "pk", "latitude", "longitude", "is_active"
        )
        placed = [(pk, lat, lon) for pk, lat, lon, active in changed if active and lat is not None and lon is not None]
        placed_ids = {pk for pk, _, _ in placed}
        removed = [pk for pk, *_ in changed if pk not in placed_ids]
        geo.apply(placed=placed, removed=removed)
        return count
    finally:
        geo.release_rebuild(token)
