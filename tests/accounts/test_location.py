"""Location sharing and people nearby: Postgres is the truth, the Redis GEO index finds candidates.

The nearby order is checked against a haversine oracle written here independently (vectors on the
unit sphere, not the selector's formula), on random positions, through both candidate paths: the
GEO index and the Postgres scan used when Redis is away.
"""

from __future__ import annotations

import math
import random
import re
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from accounts import geo
from accounts.models import User
from accounts.selectors import NearbyPerson, nearby_people
from accounts.services import geo_index_rebuild, location_share, location_stop, user_delete
from tests.factories import make_user
from tweethub.redis import client_for, feeds

pytestmark = pytest.mark.django_db


def oracle_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance from the angle between unit vectors (an independent formula)."""

    def vector(lat: float, lon: float) -> tuple[float, float, float]:
        phi, lam = math.radians(lat), math.radians(lon)
        return (math.cos(phi) * math.cos(lam), math.cos(phi) * math.sin(lam), math.sin(phi))

    u, v = vector(*a), vector(*b)
    cross = (u[1] * v[2] - u[2] * v[1], u[2] * v[0] - u[0] * v[2], u[0] * v[1] - u[1] * v[0])
    angle = math.atan2(math.sqrt(sum(c * c for c in cross)), sum(x * y for x, y in zip(u, v, strict=True)))
    return 6371.0088 * angle


def share(user: User, lat: float, lon: float, django_capture_on_commit_callbacks: Any) -> User:
    with django_capture_on_commit_callbacks(execute=True):
        return location_share(user=user, latitude=lat, longitude=lon)


def check_against_oracle(viewer: User, rows: list[NearbyPerson], limit: int) -> None:
    """`rows` are the `limit` nearest sharers: same distances as the oracle's, and everyone
    strictly nearer than the last shown is shown (who fills a tie at the boundary is open)."""
    me = (viewer.latitude, viewer.longitude)
    everyone = User.objects.filter(latitude__isnull=False, is_active=True).exclude(pk=viewer.pk)
    expected = sorted((oracle_km(me, (u.latitude, u.longitude)), u.pk) for u in everyone)[:limit]  # type: ignore[arg-type]
    assert len(rows) == len(expected)
    for row, (km, _) in zip(rows, expected, strict=True):
        assert row.exact_km == pytest.approx(km, abs=1e-6)
        assert row.km == max(1, math.floor(km + 0.5))
    if rows:
        last = expected[-1][0]
        nearer = {pk for km, pk in expected if km < last - 1e-6}
        assert nearer <= {row.person.pk for row in rows}
    assert [row.exact_km for row in rows] == sorted(row.exact_km for row in rows)


positions = st.tuples(
    st.floats(min_value=-85, max_value=85, allow_nan=False), st.floats(min_value=-180, max_value=180, allow_nan=False)
)


@hypothesis_settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    centre=positions,
    spread=st.sampled_from([0.02, 0.5, 5.0, 90.0]),
    count=st.integers(min_value=0, max_value=30),
    seed=st.integers(min_value=0, max_value=2**32),
    limit=st.integers(min_value=1, max_value=15),
)
def test_nearby_order_matches_the_haversine_oracle_on_both_paths(
    centre: tuple[float, float], spread: float, count: int, seed: int, limit: int
) -> None:
    rng = random.Random(seed)
    User.objects.all().delete()
    feeds().flushdb()

    def around() -> tuple[float, float]:
        lat = max(-85.0, min(85.0, centre[0] + rng.gauss(0, spread)))
        lon = (centre[1] + rng.gauss(0, spread) + 180) % 360 - 180
        return lat, lon

    viewer = location_share(user=make_user("viewer"), latitude=centre[0], longitude=centre[1])
    for n in range(count):
        location_share(user=make_user(f"p{n}"), latitude=around()[0], longitude=around()[1])
    make_user("hermit")  # never shares

    # Index path: the index was never built (no ready mark), so the first read builds it.
    assert not geo.is_ready()
    indexed = nearby_people(viewer=viewer, limit=limit)
    assert geo.is_ready()
    assert geo.size() == count + 1
    check_against_oracle(viewer, indexed, limit)

    # Postgres path: another process holds the rebuild lock while the index is not ready.
    geo.invalidate()
    token = geo.acquire_rebuild()
    assert token is not None
    scanned = nearby_people(viewer=viewer, limit=limit)
    geo.release_rebuild(token)
    check_against_oracle(viewer, scanned, limit)
    assert [row.exact_km for row in scanned] == [row.exact_km for row in indexed]


def test_positions_are_snapped_to_the_grid_and_distances_never_under_one_km(
    django_capture_on_commit_callbacks: Any,
) -> None:
    viewer = share(make_user("viewer"), 48.85661, 2.35222, django_capture_on_commit_callbacks)
    assert (viewer.latitude, viewer.longitude) == (48.86, 2.35)
    share(make_user("neighbour"), 48.8581, 2.3499, django_capture_on_commit_callbacks)  # same cell: 0 km
    share(make_user("across"), 48.87, 2.35, django_capture_on_commit_callbacks)  # 1.11 km
    share(make_user("far"), 48.90, 2.35, django_capture_on_commit_callbacks)  # 4.45 km
    rows = nearby_people(viewer=viewer, limit=10)
    assert [(row.person.username, row.km) for row in rows] == [("neighbour", 1), ("across", 1), ("far", 4)]
    assert rows[0].exact_km == 0.0
    assert rows[2].note == "4 km away"


def test_users_who_stop_sharing_or_are_deactivated_never_appear(django_capture_on_commit_callbacks: Any) -> None:
    viewer = share(make_user("viewer"), 10.0, 10.0, django_capture_on_commit_callbacks)
    stays = share(make_user("stays"), 10.1, 10.0, django_capture_on_commit_callbacks)
    leaves = share(make_user("leaves"), 10.05, 10.0, django_capture_on_commit_callbacks)
    banned = share(make_user("banned"), 10.02, 10.0, django_capture_on_commit_callbacks)
    assert [r.person for r in nearby_people(viewer=viewer, limit=10)] == [banned, leaves, stays]

    with django_capture_on_commit_callbacks(execute=True):
        location_stop(user=leaves)
    leaves.refresh_from_db()
    assert (leaves.latitude, leaves.longitude) == (None, None)  # erased, not just hidden
    assert feeds().geopos(geo.KEY, leaves.pk) == [None]
    User.objects.filter(pk=banned.pk).update(is_active=False)
    assert [r.person for r in nearby_people(viewer=viewer, limit=10)] == [stays]

    # Even a stale index (Redis missed the removal) cannot bring them back: Postgres decides.
    geo.place(user_id=leaves.pk, latitude=10.0, longitude=10.0)
    assert [r.person for r in nearby_people(viewer=viewer, limit=10)] == [stays]

    # Deleted accounts leave the index too.
    stays_id = stays.pk
    with django_capture_on_commit_callbacks(execute=True):
        user_delete(user=stays)
    assert feeds().geopos(geo.KEY, stays_id) == [None]
    assert nearby_people(viewer=viewer, limit=10) == []


def test_a_viewer_who_does_not_share_sees_nobody(django_capture_on_commit_callbacks: Any) -> None:
    share(make_user("someone"), 1.0, 1.0, django_capture_on_commit_callbacks)
    assert nearby_people(viewer=make_user("lurker"), limit=10) == []


def test_the_index_is_rebuilt_from_postgres_after_a_flush(django_capture_on_commit_callbacks: Any) -> None:
    viewer = share(make_user("viewer"), 40.0, -3.0, django_capture_on_commit_callbacks)
    other = share(make_user("other"), 40.2, -3.0, django_capture_on_commit_callbacks)
    assert geo_index_rebuild() == 2
    feeds().flushdb()
    assert [r.person for r in nearby_people(viewer=viewer, limit=5)] == [other]
    assert geo.is_ready()
    assert geo.size() == 2
    # A second rebuilder waits its turn instead of racing the first.
    token = geo.acquire_rebuild()
    assert geo_index_rebuild() is None
    geo.release_rebuild(token or "")


def test_rebuild_replays_changes_made_while_it_ran() -> None:
    """A position saved without its index write (as when the write landed in the set a rebuild
    then replaced) is picked up by the replay of recent changes."""
    viewer = make_user("viewer", latitude=5.0, longitude=5.0, location_updated_at=timezone.now())
    moved = make_user("moved", latitude=5.1, longitude=5.0, location_updated_at=timezone.now())
    geo.install(positions=[(viewer.pk, 5.0, 5.0), (moved.pk, 50.0, 50.0)])  # stale: moved since
    stopped = make_user("stopped", location_updated_at=timezone.now())
    geo.place(user_id=stopped.pk, latitude=5.0, longitude=5.0)  # stale: stopped since
    assert geo_index_rebuild() == 2
    assert feeds().geopos(geo.KEY, stopped.pk) == [None]
    position = feeds().geopos(geo.KEY, moved.pk)[0]
    assert position is not None
    lon, lat = position
    assert (round(lat, 4), round(lon, 4)) == (5.1, 5.0)


def test_sharing_works_and_nearby_falls_back_to_postgres_while_redis_is_down(
    settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    viewer = share(make_user("viewer"), 30.0, 30.0, django_capture_on_commit_callbacks)
    share(make_user("near"), 30.1, 30.0, django_capture_on_commit_callbacks)
    nearby_people(viewer=viewer, limit=3)  # builds the index
    settings.FEEDS_REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    settings.REDIS_SOCKET_TIMEOUT = 0.2
    client_for.cache_clear()
    try:
        late = share(make_user("late"), 30.05, 30.0, django_capture_on_commit_callbacks)
        assert late.latitude == 30.05  # saved in Postgres although the index write failed
        assert [r.person.username for r in nearby_people(viewer=viewer, limit=3)] == ["late", "near"]
    finally:
        client_for.cache_clear()


@pytest.mark.parametrize(
    ("latitude", "longitude", "field"),
    [(85.5, 0.0, "latitude"), (-90.0, 0.0, "latitude"), (0.0, 180.5, "longitude"), (math.nan, 0.0, None)],
)
def test_out_of_range_positions_are_refused(latitude: float, longitude: float, field: str | None) -> None:
    from django.core.exceptions import ValidationError

    user = make_user("user")
    with pytest.raises(ValidationError) as raised:
        location_share(user=user, latitude=latitude, longitude=longitude)
    if field:
        assert field in raised.value.message_dict
    user.refresh_from_db()
    assert user.latitude is None
    assert user.location_updated_at is None


def test_the_antimeridian_is_one_meridian(django_capture_on_commit_callbacks: Any) -> None:
    viewer = share(make_user("viewer"), 0.0, 179.99, django_capture_on_commit_callbacks)
    east = share(make_user("east"), 0.0, 180.0, django_capture_on_commit_callbacks)
    assert east.longitude == -180.0
    (row,) = nearby_people(viewer=viewer, limit=1)
    assert row.km == 1


# --- The settings page and the nearby page ---------------------------------------------------------


def test_settings_page_shares_moves_and_stops(client: Client, django_capture_on_commit_callbacks: Any) -> None:
    user = make_user("mover")
    client.force_login(user)
    page = client.get("/settings/location/")
    assert page.status_code == 200
    assert "You do not share your location." in page.content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/settings/location/", {"latitude": "51.50735", "longitude": "-0.12776"}, follow=True)
    assert "You now share your location." in response.content.decode()
    user.refresh_from_db()
    assert (user.latitude, user.longitude) == (51.51, -0.13)
    assert geo.is_ready() is False  # the index is built by readers; the write went to the set
    assert feeds().geopos(geo.KEY, user.pk)[0] is not None

    response = client.post("/settings/location/", {"latitude": "52,2", "longitude": "0,12"}, follow=True)
    assert "Your position is updated." in response.content.decode()
    user.refresh_from_db()
    assert (user.latitude, user.longitude) == (52.2, 0.12)  # a decimal comma is read as the point
    assert 'value="52.2"' in response.content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/settings/location/stop/", follow=True)
    assert "You no longer share your location" in response.content.decode()
    user.refresh_from_db()
    assert user.latitude is None
    assert feeds().geopos(geo.KEY, user.pk) == [None]
    assert client.get("/settings/location/stop/").status_code == 405


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"latitude": "95", "longitude": "0"}, "Latitude must be between -85 and 85"),
        ({"latitude": "abc", "longitude": "0"}, "Enter a number"),
        ({"latitude": "10", "longitude": ""}, "This field is required"),
        ({"latitude": "10", "longitude": "-181"}, "Longitude must be between -180 and 180."),
        ({"latitude": "10,5", "longitude": "1,2,3"}, "Enter a number"),
        ({"latitude": "nan", "longitude": "1"}, "Enter a number"),
        ({"latitude": "1e309", "longitude": "1"}, "Enter a number"),
    ],
)
def test_settings_page_refuses_bad_positions_and_changes_nothing(
    client: Client, form: dict[str, str], message: str, django_capture_on_commit_callbacks: Any
) -> None:
    user = share(make_user("careful"), 1.0, 2.0, django_capture_on_commit_callbacks)
    client.force_login(user)
    response = client.post("/settings/location/", form)
    assert response.status_code == 400
    assert message in response.content.decode()
    user.refresh_from_db()
    assert (user.latitude, user.longitude) == (1.0, 2.0)


def test_location_pages_need_login_and_csrf(django_capture_on_commit_callbacks: Any) -> None:
    anonymous = Client()
    for url in ("/settings/location/", "/discover/nearby/"):
        response = anonymous.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")
    assert anonymous.post("/settings/location/stop/").status_code == 302

    user = share(make_user("guarded"), 3.0, 3.0, django_capture_on_commit_callbacks)
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(user)
    assert strict.post("/settings/location/", {"latitude": "4", "longitude": "4"}).status_code == 403
    assert strict.post("/settings/location/stop/").status_code == 403
    user.refresh_from_db()
    assert (user.latitude, user.longitude) == (3.0, 3.0)


def test_moving_is_rate_limited(client: Client, settings: Any) -> None:
    settings.RATE_LIMIT_LOCATION_PER_USER = "3/1h"
    client.force_login(make_user("jumpy"))
    codes = [client.post("/settings/location/", {"latitude": str(n), "longitude": "0"}).status_code for n in range(5)]
    assert codes == [302, 302, 302, 429, 429]


def test_nearby_page_lists_distances_and_never_coordinates(
    client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    viewer = share(make_user("viewer"), 47.37, 8.54, django_capture_on_commit_callbacks)
    share(make_user("close", name="Close <b>friend</b>"), 47.4138, 8.5417, django_capture_on_commit_callbacks)
    share(make_user("further"), 47.0502, 8.3093, django_capture_on_commit_callbacks)
    stopped = share(make_user("stopped"), 47.3712, 8.5413, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        location_stop(user=stopped)
    client.force_login(viewer)
    html = client.get("/discover/nearby/").content.decode()
    assert re.findall(r'id="person-\d+-name">([^<]*)<', html) == ["Close &lt;b&gt;friend&lt;/b&gt;", "Further"]
    assert "4 km away" in html
    assert "40 km away" in html
    assert "stopped" not in html
    # Nobody's coordinates in any form: not the others', not the viewer's own.
    for page in ("/discover/nearby/", "/discover/", "/@close/", "/discover/friends-of-friends/"):
        body = client.get(page).content.decode()
        for number in ("47.41", "8.54", "47.05", "8.31", "47.37"):
            assert number not in body, (page, number)


def test_nearby_page_asks_non_sharers_to_share(client: Client) -> None:
    client.force_login(make_user("shy"))
    html = client.get("/discover/nearby/").content.decode()
    assert "Share your location to see who is near you, and to be seen by them." in html
    assert 'href="/settings/location/"' in html


def test_nearby_page_queries_are_bounded(
    client: Client, django_assert_max_num_queries: Any, django_capture_on_commit_callbacks: Any
) -> None:
    viewer = share(make_user("viewer"), 0.0, 0.0, django_capture_on_commit_callbacks)
    for n in range(15):
        share(make_user(f"n{n}"), 0.01 * n, 0.0, django_capture_on_commit_callbacks)
    client.force_login(viewer)
    client.get("/discover/nearby/")  # builds the index
    with django_assert_max_num_queries(6):
        assert client.get("/discover/nearby/").status_code == 200
