"""Discovery in a real browser: sharing a typed (or browser-found) position, people nearby with
whole-kilometre distances, people you may know, and the four lists of connections."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from playwright.sync_api import Page, expect

from accounts.models import User
from accounts.services import location_share, location_stop
from follows.models import Follow
from follows.services import follow_create
from tests.browser.conftest import LiveServer, assert_clean, log_in, screenshot
from tests.factories import make_user

pytestmark = pytest.mark.browser


def share(user: User, latitude: float, longitude: float) -> None:
    location_share(user=user, latitude=latitude, longitude=longitude)


def test_share_typed_coordinates_see_people_nearby_follow_one_then_stop(
    page: Page, other_page: Page, live: LiveServer
) -> None:
    alice = make_user("alice", name="Alice Liddell")
    # Distances from where Alice will be (51.5072, -0.1276 typed, kept as 51.51, -0.13):
    # the same snapped square (0 km, shown as 1), ~3 km, ~24 km, ~261 km and ~5,570 km.
    share(make_user("nell", name="Nell Nextdoor"), 51.514, -0.126)
    share(make_user("sam", name="Sam Soho", bio="Two streets north of the river."), 51.53, -0.10)
    share(make_user("tom", name="Tom Watford"), 51.73, -0.13)
    share(make_user("mia", name="Mia Manchester"), 53.48, -2.24)
    share(make_user("nora", name="Nora New York"), 40.71, -74.01)
    quinn = make_user("quinn", name="Quinn Quitter")
    share(quinn, 51.52, -0.12)
    location_stop(user=quinn)
    make_user("hermit", name="Hermit Homebody")

    log_in(page, live, "alice")
    page.goto(live.url + "/settings/location/")
    expect(page.get_by_role("heading", name="Location", level=1)).to_be_visible()
    expect(page.get_by_text("You do not share your location.")).to_be_visible()
    expect(page.get_by_role("button", name="Stop sharing my location")).to_have_count(0)
    screenshot(page, "discover-location-off")
    page.get_by_label("Latitude").fill("51.5072")
    page.get_by_label("Longitude").fill("-0.1276")
    page.get_by_role("button", name="Share my location").click()

    expect(page.get_by_text("You now share your location.")).to_be_visible()
    expect(page.get_by_text("You share your location.", exact=True)).to_be_visible()
    # Kept to two decimals (about a kilometre), and shown as kept.
    expect(page.get_by_label("Latitude")).to_have_value("51.51")
    expect(page.get_by_label("Longitude")).to_have_value("-0.13")
    expect(page.get_by_role("button", name="Update my position")).to_be_visible()
    alice.refresh_from_db()
    assert (alice.latitude, alice.longitude) == (51.51, -0.13)
    screenshot(page, "discover-location-on")

    nav = page.get_by_role("navigation", name="Main")
    nav.get_by_role("link", name="Discover").click()
    expect(page).to_have_url(live.url + "/discover/")
    expect(nav.get_by_role("link", name="Discover")).to_have_attribute("aria-current", "page")
    tabs = page.get_by_role("navigation", name="Ways to find people")
    tabs.get_by_role("link", name="Nearby").click()
    expect(page).to_have_url(live.url + "/discover/nearby/")
    expect(tabs.get_by_role("link", name="Nearby")).to_have_attribute("aria-current", "page")
    expect(nav.get_by_role("link", name="Discover")).to_have_attribute("aria-current", "page")
    expect(page.get_by_role("heading", name="People nearby")).to_be_visible()

    # Nearest first, whole kilometres, never under 1 km; who stopped or never shared is absent.
    expect(page.locator(".people-list .person-name")).to_have_text(
        ["Nell Nextdoor", "Sam Soho", "Tom Watford", "Mia Manchester", "Nora New York"]
    )
    expect(page.locator(".people-list .person-note")).to_have_text(
        ["1 km away", "3 km away", "24 km away", "261 km away", "5,570 km away"]
    )
    expect(page.get_by_text("Quinn Quitter")).to_have_count(0)
    expect(page.get_by_text("Hermit Homebody")).to_have_count(0)
    expect(page.locator(".people-list").get_by_text("Alice Liddell")).to_have_count(0)
    # Only distances leave the server: no position, typed or kept, is anywhere in the page.
    html = page.content()
    for coordinate in ("51.514", "-0.126", "51.53", "-0.1", "51.73", "53.48", "-2.24", "40.71", "-74.01",
                       "51.52", "-0.12", "51.51", "-0.13", "51.5072", "-0.1276"):  # fmt: skip
        assert coordinate not in html
    screenshot(page, "discover-nearby")

    sam = page.get_by_role("article", name="Sam Soho")
    sam.get_by_role("button", name="Follow", exact=True).click()
    expect(page.get_by_text("You follow @sam")).to_be_visible()
    expect(page).to_have_url(live.url + "/discover/nearby/")
    expect(sam.get_by_text("Following", exact=True)).to_be_visible()
    expect(sam.get_by_role("button", name="Unfollow")).to_be_visible()
    expect(page.get_by_role("article", name="Tom Watford").get_by_role("button", name="Follow")).to_be_visible()
    assert Follow.objects.filter(follower=alice, followee__username="sam").exists()
    screenshot(page, "discover-nearby-followed")

    # Sam, who shares too, sees Alice 3 km away; only until she stops.
    log_in(other_page, live, "sam")
    other_page.goto(live.url + "/discover/nearby/")
    alice_row = other_page.get_by_role("article", name="Alice Liddell")
    expect(alice_row.get_by_text("3 km away")).to_be_visible()

    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "discover-nearby-mobile")
    page.goto(live.url + "/settings/location/")
    screenshot(page, "discover-location-mobile")
    page.set_viewport_size({"width": 1280, "height": 860})

    page.get_by_role("button", name="Stop sharing my location").click()
    expect(page.get_by_text("You no longer share your location, and we deleted the position.")).to_be_visible()
    expect(page.get_by_text("You do not share your location.")).to_be_visible()
    expect(page.get_by_label("Latitude")).to_have_value("")
    expect(page.get_by_label("Longitude")).to_have_value("")
    alice.refresh_from_db()
    assert (alice.latitude, alice.longitude) == (None, None)

    page.get_by_role("link", name="people nearby").click()
    expect(page).to_have_url(live.url + "/discover/nearby/")
    expect(page.get_by_text("Share your location to see who is near you")).to_be_visible()
    expect(page.locator(".people-list")).to_have_count(0)
    expect(page.get_by_role("link", name="Share my location")).to_have_attribute("href", "/settings/location/")
    screenshot(page, "discover-nearby-not-sharing")

    other_page.reload()
    expect(other_page.get_by_role("heading", name="People nearby")).to_be_visible()
    expect(other_page.get_by_role("article", name="Nell Nextdoor")).to_be_visible()
    expect(other_page.get_by_role("article", name="Alice Liddell")).to_have_count(0)
    assert_clean(page)
    assert_clean(other_page)


def test_use_my_current_location_fills_the_fields(page: Page, other_page: Page, live: LiveServer) -> None:
    make_user("alice", name="Alice Liddell")
    make_user("bill", name="Bill the Lizard")
    page.context.grant_permissions(["geolocation"], origin=live.url)
    page.context.set_geolocation({"latitude": 48.85661, "longitude": 2.35222})

    log_in(page, live, "alice")
    page.goto(live.url + "/settings/location/")
    page.get_by_role("button", name="Use my current location").click()
    # Two decimals, as the server keeps it; nothing is sent until the person presses Share.
    expect(page.get_by_label("Latitude")).to_have_value("48.86")
    expect(page.get_by_label("Longitude")).to_have_value("2.35")
    expect(page.get_by_text("Filled in: save it with the button below.")).to_be_visible()
    assert User.objects.get(username="alice").latitude is None
    screenshot(page, "discover-location-filled")
    page.get_by_role("button", name="Share my location").click()
    expect(page.get_by_text("You now share your location.")).to_be_visible()
    assert User.objects.filter(username="alice", latitude=48.86, longitude=2.35).exists()

    # A browser that was not allowed to tell says so, and typing still works.
    log_in(other_page, live, "bill")
    other_page.goto(live.url + "/settings/location/")
    other_page.get_by_role("button", name="Use my current location").click()
    expect(other_page.get_by_text("Your browser did not allow it. You can type the numbers instead.")).to_be_visible()
    expect(other_page.get_by_role("button", name="Use my current location")).to_be_enabled()
    expect(other_page.get_by_label("Latitude")).to_have_value("")
    assert_clean(page)
    assert_clean(other_page)


def test_bad_positions_are_refused_and_change_nothing(page: Page, live: LiveServer) -> None:
    alice = make_user("alice", name="Alice Liddell")
    share(alice, 51.51, -0.13)
    share(make_user("sam", name="Sam Soho"), 51.53, -0.10)

    log_in(page, live, "alice")
    page.goto(live.url + "/settings/location/")
    latitude, longitude = page.get_by_label("Latitude"), page.get_by_label("Longitude")
    latitude.fill("95")
    longitude.fill("2.35")
    page.get_by_role("button", name="Update my position").click()
    expect(page.locator(".field-invalid")).to_have_count(1)
    expect(
        page.get_by_text("Latitude must be between -85 and 85 (nearer the poles we cannot place anyone).")
    ).to_be_visible()
    expect(latitude).to_have_attribute("aria-invalid", "true")
    screenshot(page, "discover-location-bad-latitude")

    longitude.fill("200")
    latitude.fill("51.5")
    page.get_by_role("button", name="Update my position").click()
    expect(page.get_by_text("Longitude must be between -180 and 180.")).to_be_visible()
    expect(longitude).to_have_attribute("aria-invalid", "true")

    latitude.fill("north")
    longitude.fill("-0.13")
    page.get_by_role("button", name="Update my position").click()
    expect(page.get_by_text("Enter a number.")).to_be_visible()
    expect(page.get_by_label("Latitude")).to_have_attribute("aria-invalid", "true")

    alice.refresh_from_db()
    assert (alice.latitude, alice.longitude) == (51.51, -0.13)
    page.goto(live.url + "/discover/nearby/")
    expect(page.locator(".people-list .person-note")).to_have_text(["3 km away"])

    # A decimal comma is read as the point (a number field would have dropped it: "-0,1" -> -1).
    page.goto(live.url + "/settings/location/")
    latitude.fill("51,53")
    longitude.fill("-0,1")
    page.get_by_role("button", name="Update my position").click()
    expect(page.get_by_text("Your position is updated.")).to_be_visible()
    alice.refresh_from_db()
    assert (alice.latitude, alice.longitude) == (51.53, -0.1)
    expect(latitude).to_have_value("51.53")
    expect(longitude).to_have_value("-0.1")
    page.goto(live.url + "/discover/nearby/")
    expect(page.locator(".people-list .person-note")).to_have_text(["1 km away"])
    assert_clean(page)


def test_people_you_may_know_and_the_four_lists(page: Page, live: LiveServer) -> None:
    vera = make_user("vera", name="Vera Viewer")
    ann = make_user("ann", name="Ann Archer", bio="Arrows, mostly.")
    ben = make_user("ben", name="Ben Baker")
    cleo = make_user("cleo", name="Cleo Cartwright", bio="Carts and wheels mended while you wait.")
    dan = make_user("dan", name="Dan Dyer")
    gone = make_user("gone", name="Gone Away", is_active=False)
    fay = make_user("fay", name="Fay Fletcher")
    gus = make_user("gus", name="Gus Glover")
    hal = make_user("hal", name="Hal Hooper")
    for follower, followee in [
        (vera, ann), (vera, ben), (ann, cleo), (ben, cleo), (ann, dan), (ann, vera),
        (fay, vera), (gus, fay), (gus, ann), (hal, fay),
    ]:  # fmt: skip
        follow_create(follower=follower, followee=followee)
    Follow.objects.create(follower=ann, followee=gone)  # followed before the account was closed

    log_in(page, live, "vera")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Discover").click()
    expect(page.get_by_role("heading", name="Discover people", level=1)).to_be_visible()
    expect(page.get_by_role("link", name="You may know")).to_have_attribute("aria-current", "page")
    # Most shared connections first; never yourself, someone you follow, or a closed account.
    expect(page.locator(".people-list .person-name")).to_have_text(["Cleo Cartwright", "Dan Dyer"])
    expect(page.locator(".people-list .person-note")).to_have_text(["Followed by @ann and @ben", "Followed by @ann"])
    screenshot(page, "discover-suggestions")
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "discover-suggestions-mobile")
    page.emulate_media(color_scheme="dark")
    screenshot(page, "discover-suggestions-mobile-dark")
    page.emulate_media(color_scheme="light")
    page.set_viewport_size({"width": 1280, "height": 860})

    page.get_by_role("article", name="Cleo Cartwright").get_by_role("button", name="Follow").click()
    expect(page.get_by_text("You follow @cleo")).to_be_visible()
    expect(page).to_have_url(live.url + "/discover/")
    expect(page.locator(".people-list .person-name")).to_have_text(["Dan Dyer"])
    assert Follow.objects.filter(follower=vera, followee=cleo).exists()

    tabs = page.get_by_role("navigation", name="Ways to find people")
    tabs.get_by_role("link", name="Following").click()
    expect(page).to_have_url(live.url + "/discover/following/")
    expect(page.get_by_role("heading", name="People you follow")).to_be_visible()
    expect(page.locator(".people-list .person-name")).to_have_text(["Cleo Cartwright", "Ben Baker", "Ann Archer"])
    expect(page.locator(".people-list .follow-unfollow")).to_have_count(3)

    tabs.get_by_role("link", name="Friends of friends").click()
    expect(page.get_by_role("heading", name="Friends of friends", level=2)).to_be_visible()
    expect(page.locator(".people-list .person-name")).to_have_text(["Cleo Cartwright", "Dan Dyer"])
    expect(page.locator(".people-list .person-note")).to_have_text(
        ["Followed by 2 people you follow", "Followed by 1 person you follow"]
    )
    expect(page.get_by_role("article", name="Cleo Cartwright").get_by_text("Following", exact=True)).to_be_visible()
    screenshot(page, "discover-friends-of-friends")

    tabs.get_by_role("link", name="Followers", exact=True).click()
    expect(page.get_by_role("heading", name="Your followers")).to_be_visible()
    expect(page.locator(".people-list .person-name")).to_have_text(["Fay Fletcher", "Ann Archer"])
    expect(page.get_by_role("article", name="Fay Fletcher").get_by_role("button", name="Follow")).to_be_visible()

    tabs.get_by_role("link", name="Their followers").click()
    expect(page.get_by_role("heading", name="Followers of your followers")).to_be_visible()
    expect(page.locator(".people-list .person-name")).to_have_text(["Gus Glover", "Hal Hooper"])
    expect(page.locator(".people-list .person-note")).to_have_text(
        ["Follows 2 of your followers", "Follows 1 of your followers"]
    )
    expect(page.get_by_role("link", name="Show more")).to_have_count(0)
    screenshot(page, "discover-followers-of-followers")
    assert_clean(page)


def test_friends_of_friends_show_more(page: Page, live: LiveServer) -> None:
    size = settings.TIMELINE_PAGE_SIZE  # the live server reads the same environment
    vera = make_user("vera", name="Vera Viewer")
    hub, hub2 = make_user("hub", name="Hub One"), make_user("hub2", name="Hub Two")
    people = [make_user(f"p{n:02}", name=f"Person {n:02}") for n in range(size + 3)]
    follow_create(follower=vera, followee=hub)
    follow_create(follower=vera, followee=hub2)
    for person in people:
        follow_create(follower=hub, followee=person)
    # Two connections rank first, wherever their ids are.
    follow_create(follower=hub2, followee=people[-1])
    follow_create(follower=hub2, followee=people[5])

    log_in(page, live, "vera")
    page.goto(live.url + "/discover/friends-of-friends/")
    names = page.locator(".people-list .person-name")
    ones = [p.name for n, p in enumerate(people) if n not in (5, len(people) - 1)]
    expect(names).to_have_text([people[5].name, people[-1].name, *ones[: size - 2]])
    page.get_by_role("link", name="Show more").click()
    expect(page).to_have_url(re.compile(r"/discover/friends-of-friends/\?after=1\.\d+$"))
    expect(names).to_have_text(ones[size - 2 :])
    expect(page.get_by_role("link", name="Show more")).to_have_count(0)
    assert_clean(page)
