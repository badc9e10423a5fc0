"""Phone width (390 x 844): the header folds its nav into a menu and stays one short row; every
link in the menu works; members find "How it works" and "Mail" in the footer; profile buttons are
one row of equal-height buttons at phone and desktop widths."""

from __future__ import annotations

import itertools

import pytest
from playwright.sync_api import Browser, FloatRect, Locator, Page, ViewportSize, expect

from follows.services import follow_create
from tests.browser.conftest import LiveServer, assert_clean, log_in, screenshot
from tests.browser.test_accessibility import axe_violations
from tests.factories import make_user

pytestmark = pytest.mark.browser

PHONE: ViewportSize = {"width": 390, "height": 844}
DESKTOP: ViewportSize = {"width": 1280, "height": 860}
# One row: the brand and the menu button (3.5rem rows, plus the border).
HEADER_MAX_PX = 64


def _box(locator: Locator) -> FloatRect:
    box = locator.bounding_box()
    assert box is not None
    return box


def _header_height(page: Page) -> float:
    return _box(page.locator(".site-header"))["height"]


def _open_menu(page: Page) -> Locator:
    menu = page.get_by_role("button", name="Menu")
    if menu.get_attribute("aria-expanded") != "true":
        menu.click()
    expect(menu).to_have_attribute("aria-expanded", "true")
    return page.get_by_role("navigation", name="Main")


def _follow_links(page: Page, live: LiveServer, links: list[tuple[str, str]]) -> None:
    """Open the menu and follow each link from it; each lands where it says."""
    for name, path in links:
        nav = _open_menu(page)
        nav.get_by_role("link", name=name, exact=True).click()
        expect(page).to_have_url(live.url + path)
        page.wait_for_load_state("load")
        menu = page.get_by_role("button", name="Menu")
        expect(menu).to_have_attribute("aria-expanded", "false")  # a new page starts closed
        expect(nav.get_by_role("link", name=name, exact=True)).to_be_hidden()


def test_a_visitor_gets_a_one_row_header_and_a_working_menu(page: Page, live: LiveServer) -> None:
    page.set_viewport_size(PHONE)
    page.goto(live.url + "/")
    page.wait_for_load_state("load")
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Log in")).to_be_hidden()
    assert _header_height(page) <= HEADER_MAX_PX
    screenshot(page, "phone-header-visitor-closed", full_page=False)

    _open_menu(page)
    for name in ("Home", "Search", "How it works", "Mail", "Log in", "Sign up"):
        expect(nav.get_by_role("link", name=name, exact=True)).to_be_visible()
    screenshot(page, "phone-header-visitor-open", full_page=False)
    assert axe_violations(page) == []
    # Escape closes it and gives focus back to the button; so does a click outside.
    page.keyboard.press("Escape")
    expect(page.get_by_role("button", name="Menu")).to_be_focused()
    expect(nav.get_by_role("link", name="Log in")).to_be_hidden()
    _open_menu(page)
    page.mouse.click(200, 600)
    expect(nav.get_by_role("link", name="Log in")).to_be_hidden()

    _follow_links(
        page,
        live,
        [("Search", "/search/"), ("How it works", "/admin/"), ("Mail", "/admin/mails/"), ("Log in", "/accounts/login/"),
         ("Sign up", "/accounts/signup/"), ("Home", "/")],
    )  # fmt: skip
    assert_clean(page)


def test_a_member_gets_the_menu_and_finds_the_developer_tools_in_the_footer(page: Page, live: LiveServer) -> None:
    make_user("ann", name="Ann Example")
    page.set_viewport_size(PHONE)
    page.goto(live.url + "/accounts/login/")
    page.get_by_label("Username or email").fill("ann")
    page.get_by_label("Password").fill("correct-horse-battery-staple")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("button", name="Menu")).to_be_visible()
    page.wait_for_load_state("load")
    assert _header_height(page) <= HEADER_MAX_PX
    screenshot(page, "phone-header-member-closed", full_page=False)

    nav = _open_menu(page)
    names = nav.get_by_role("link").all_inner_texts()
    assert names == ["Home", "Search", "Discover", "Notifications", "Messages", "Profile", "Settings"]
    expect(nav.get_by_role("button", name="Log out")).to_be_visible()
    screenshot(page, "phone-header-member-open", full_page=False)
    assert axe_violations(page) == []
    page.keyboard.press("Escape")

    _follow_links(
        page,
        live,
        [("Search", "/search/"), ("Discover", "/discover/"), ("Messages", "/messages/"), ("Profile", "/@ann/"),
         ("Settings", "/settings/profile/"), ("Home", "/")],
    )  # fmt: skip
    footer = page.get_by_role("navigation", name="Developer tools")
    footer.get_by_role("link", name="How it works").click()
    expect(page).to_have_url(live.url + "/admin/")
    expect(footer.get_by_role("link", name="How it works")).to_have_attribute("aria-current", "page")
    footer.get_by_role("link", name="Mail").click()
    expect(page).to_have_url(live.url + "/admin/mails/")
    screenshot(page, "phone-footer-member")

    _open_menu(page).get_by_role("button", name="Log out").click()
    expect(page.get_by_role("button", name="Menu")).to_be_visible()
    _open_menu(page)
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Log in")).to_be_visible()
    assert_clean(page)


def test_without_scripts_the_nav_stays_open_at_phone_width(browser: Browser, live: LiveServer) -> None:
    """The fold needs static/js/nav.js: a browser that runs no scripts gets the open list."""
    context = browser.new_context(java_script_enabled=False, viewport=PHONE)
    try:
        page = context.new_page()
        page.goto(live.url + "/")
        expect(page.get_by_role("button", name="Menu")).to_be_hidden()
        nav = page.get_by_role("navigation", name="Main")
        for name in ("Home", "Search", "How it works", "Mail", "Log in", "Sign up"):
            expect(nav.get_by_role("link", name=name, exact=True)).to_be_visible()
        nav.get_by_role("link", name="Log in").click()
        expect(page).to_have_url(live.url + "/accounts/login/")
    finally:
        context.close()


def test_at_desktop_width_the_nav_is_one_open_row(page: Page, live: LiveServer) -> None:
    make_user("ann")
    log_in(page, live, "ann")
    page.set_viewport_size(DESKTOP)
    expect(page.get_by_role("button", name="Menu")).to_be_hidden()
    nav = page.get_by_role("navigation", name="Main")
    for name in ("Home", "Search", "Discover", "Notifications", "Messages", "Profile", "Settings"):
        expect(nav.get_by_role("link", name=name, exact=True)).to_be_visible()
    expect(nav.get_by_role("link", name="How it works")).to_have_count(0)
    assert _header_height(page) <= HEADER_MAX_PX
    # Just wide enough for the open row (the menu takes over below 64rem, 1024px): still one row.
    page.set_viewport_size({"width": 1032, "height": 860})
    expect(page.get_by_role("button", name="Menu")).to_be_hidden()
    expect(nav.get_by_role("button", name="Log out")).to_be_visible()
    assert _header_height(page) <= HEADER_MAX_PX
    screenshot(page, "header-member-1032", full_page=False)
    assert_clean(page)


def _buttons(page: Page) -> list[FloatRect]:
    actions = page.locator(".profile-action")
    return [_box(item) for item in actions.locator(".button, .follow-state").all()]


def _assert_one_row_of_equal_buttons(boxes: list[FloatRect], count: int) -> None:
    assert len(boxes) == count
    heights = {round(box["height"]) for box in boxes}
    tops = {round(box["y"]) for box in boxes}
    assert len(heights) == 1, boxes  # equal height
    assert len(tops) == 1, boxes  # one row
    for left, right in itertools.pairwise(boxes):
        assert left["x"] + left["width"] <= right["x"], boxes  # side by side, never overlapping


@pytest.mark.parametrize(("viewport", "label"), [(DESKTOP, "desktop"), (PHONE, "phone")])
def test_profile_buttons_are_one_row_of_equal_height(
    page: Page, live: LiveServer, viewport: ViewportSize, label: str
) -> None:
    ann = make_user("ann", name="Ann Example")
    bob = make_user("bob", name="Bob Builder-Longname", bio="Builds things.")
    make_user("cat", name="Cat Person")
    follow_create(follower=ann, followee=bob)
    log_in(page, live, "ann")
    page.set_viewport_size(viewport)

    page.goto(live.url + "/@bob/")  # following: "Following", Unfollow, Message
    expect(page.get_by_role("button", name="Unfollow")).to_be_visible()
    _assert_one_row_of_equal_buttons(_buttons(page), 3)
    screenshot(page, f"profile-buttons-following-{label}", full_page=False)

    page.goto(live.url + "/@cat/")  # not following: Follow, Message
    _assert_one_row_of_equal_buttons(_buttons(page), 2)
    page.get_by_role("button", name="Follow", exact=True).click()
    expect(page.get_by_role("button", name="Unfollow")).to_be_visible()
    _assert_one_row_of_equal_buttons(_buttons(page), 3)
    screenshot(page, f"profile-buttons-cat-{label}", full_page=False)
    page.get_by_role("link", name="Message", exact=True).click()
    expect(page).to_have_url(live.url + "/messages/cat/")

    page.goto(live.url + "/@ann/")  # one's own: Edit profile, Bookmarks
    _assert_one_row_of_equal_buttons(_buttons(page), 2)
    assert_clean(page)
