"""Shared positions for seeded people ("people nearby"): world cities for seed_graph, a few
neighbouring towns for seed_demo, snapped exactly as accounts.services.location_share snaps.

Loaders write the columns with COPY, so the Redis GEO index does not see them: `index_positions`
rebuilds it from Postgres once the rows are committed.
"""

from __future__ import annotations

import math
import random

from accounts.services import LOCATION_DECIMALS, MAX_SHARED_LATITUDE, geo_index_rebuild
from adminpanel.seed.common import Meter, Progress

# (name, latitude, longitude, metro population in millions): people are drawn in proportion to
# the population, spread around the centre by SPREAD_KM_PER_SQRT_MILLION * sqrt(population) km
# (one standard deviation: ~50 km for Tokyo, ~5 km for Reykjavik). Suva and Taveuni straddle the
# antimeridian, Longyearbyen is far north: the index and the distances must cope with both.
CITIES: tuple[tuple[str, float, float, float], ...] = (
    ("Tokyo", 35.68, 139.69, 37), ("Delhi", 28.61, 77.21, 32), ("Shanghai", 31.23, 121.47, 29),
    ("Dhaka", 23.81, 90.41, 22), ("São Paulo", -23.55, -46.63, 22), ("Mexico City", 19.43, -99.13, 22),
    ("Cairo", 30.04, 31.24, 21), ("Mumbai", 19.08, 72.88, 21), ("Beijing", 39.90, 116.41, 21),
    ("Osaka", 34.69, 135.50, 19), ("New York", 40.71, -74.01, 19), ("Karachi", 24.86, 67.01, 17),
    ("Buenos Aires", -34.60, -58.38, 15), ("Istanbul", 41.01, 28.98, 15), ("Lagos", 6.52, 3.38, 15),
    ("Manila", 14.60, 120.98, 14), ("Rio de Janeiro", -22.91, -43.17, 13), ("Los Angeles", 34.05, -118.24, 12),
    ("Moscow", 55.76, 37.62, 12), ("Paris", 48.86, 2.35, 11), ("Jakarta", -6.21, 106.85, 11),
    ("Lima", -12.05, -77.04, 11), ("Bangkok", 13.76, 100.50, 11), ("Seoul", 37.57, 126.98, 10),
    ("London", 51.51, -0.13, 9), ("Chicago", 41.88, -87.63, 9), ("Madrid", 40.42, -3.70, 7),
    ("Santiago", -33.45, -70.67, 7), ("Singapore", 1.35, 103.82, 6), ("Toronto", 43.65, -79.38, 6),
    ("Johannesburg", -26.20, 28.05, 6), ("Nairobi", -1.29, 36.82, 5), ("Sydney", -33.87, 151.21, 5),
    ("Melbourne", -37.81, 144.96, 5), ("Berlin", 52.52, 13.40, 4), ("Lisbon", 38.71, -9.14, 3),
    ("Stockholm", 59.33, 18.07, 2), ("Auckland", -36.85, 174.76, 1.7), ("Honolulu", 21.31, -157.86, 1),
    ("Reykjavik", 64.15, -21.94, 0.2), ("Suva", -18.14, 178.44, 0.2), ("Taveuni", -16.85, 179.97, 0.02),
    ("Longyearbyen", 78.22, 15.65, 0.01),
)  # fmt: skip
SPREAD_KM_PER_SQRT_MILLION = 8.0
# Kilometres per degree of latitude (and of longitude at the equator).
KM_PER_DEGREE = 111.2

# The demo site's people live around Lisbon (the demo account in the centre), so /discover/nearby/
# lists neighbours from "1 km away" (the same part of town) to ~45 km (Torres Vedras).
# (name, latitude, longitude, weight).
DEMO_TOWNS: tuple[tuple[str, float, float, float], ...] = (
    ("Lisbon", 38.71, -9.14, 10), ("Almada", 38.68, -9.16, 3), ("Oeiras", 38.69, -9.31, 3),
    ("Sintra", 38.80, -9.38, 3), ("Cascais", 38.70, -9.42, 3), ("Vila Franca de Xira", 38.95, -8.99, 2),
    ("Setúbal", 38.52, -8.89, 2), ("Ericeira", 38.96, -9.42, 1), ("Torres Vedras", 39.09, -9.26, 1),
)  # fmt: skip
DEMO_HOME = DEMO_TOWNS[0]
DEMO_SPREAD_KM = 1.5
# Demo people who share a position; the others show how the page looks for everyone else.
DEMO_SHARING_SHARE = 0.85


def snap(latitude: float, longitude: float) -> tuple[float, float]:
    """The position as location_share stores it: latitude clamped to the indexable band, longitude
    wrapped to [-180, 180), both rounded to LOCATION_DECIMALS (no -0.0)."""
    latitude = max(-MAX_SHARED_LATITUDE, min(MAX_SHARED_LATITUDE, latitude))
    longitude = (longitude + 180.0) % 360.0 - 180.0
    lat = round(latitude, LOCATION_DECIMALS) + 0.0
    lon = round(longitude, LOCATION_DECIMALS) + 0.0
    if lon == 180.0:
        lon = -180.0
    return lat, lon


def scatter(rng: random.Random, latitude: float, longitude: float, km: float) -> tuple[float, float]:
    """A snapped point around (latitude, longitude), each axis Gaussian with `km` standard deviation."""
    north, east = rng.gauss(0.0, km), rng.gauss(0.0, km)
    lat = latitude + north / KM_PER_DEGREE
    # Degrees of longitude shrink with the cosine of the latitude (floored: no blow-up near the poles).
    lon = longitude + east / (KM_PER_DEGREE * max(0.05, math.cos(math.radians(latitude))))
    return snap(lat, lon)


def city_positions(rng: random.Random, count: int) -> list[tuple[float, float]]:
    """`count` snapped positions clustered around CITIES, in proportion to their populations."""
    cities = rng.choices(CITIES, weights=[city[3] for city in CITIES], k=count)
    return [
        scatter(rng, lat, lon, SPREAD_KM_PER_SQRT_MILLION * math.sqrt(population))
        for _name, lat, lon, population in cities
    ]


def demo_positions(rng: random.Random, *, person_ids: list[int], demo_id: int) -> dict[int, tuple[float, float]]:
    """Positions of the demo people who share (DEMO_SHARING_SHARE of them) around DEMO_TOWNS, and
    of the demo account itself, in DEMO_HOME's centre."""
    sharing = rng.sample(person_ids, round(len(person_ids) * DEMO_SHARING_SHARE))
    towns = rng.choices(DEMO_TOWNS, weights=[town[3] for town in DEMO_TOWNS], k=len(sharing))
    positions = {
        user_id: scatter(rng, lat, lon, DEMO_SPREAD_KM)
        for user_id, (_name, lat, lon, _w) in zip(sharing, towns, strict=True)
    }
    positions[demo_id] = snap(DEMO_HOME[1], DEMO_HOME[2])
    return positions


def index_positions(say: Progress) -> int | None:
    """Rebuild the GEO index from Postgres (accounts.services.geo_index_rebuild), after a load that
    wrote positions behind the services' back. How many users are indexed, or None when another
    process was rebuilding it already (its replay of recent changes, or the periodic rebuild, then
    adds the newcomers). Raises redis.RedisError when Redis is down (readers rebuild the index
    themselves once it is back: it will not be marked ready)."""
    meter = Meter("geo", 1, say, "index")
    meter.start()
    indexed = geo_index_rebuild()
    meter.advance()
    meter.finish("(another process is rebuilding it)" if indexed is None else f"({indexed:,} users share a position)")
    return indexed
