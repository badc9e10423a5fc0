"""Every page a visitor or member opens has zero axe-core violations, in light and dark colours.

axe-core is the copy shipped inside the axe-playwright-python package (a dev dependency pinned
with its hash in requirements.lock): no network and no CDN. It is evaluated through Playwright
(the DevTools protocol), which the page's Content-Security-Policy (`script-src 'self'`) does not
govern, so the site's real policy stays on while axe runs; an injected <script> tag would be
blocked by it, and bypass_csp would test a page people never get.
"""

from __future__ import annotations

import importlib.util
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from django.core.mail import send_mail
from playwright.sync_api import Page, expect
from pytest_django import Settings

from follows.services import follow_create
from messaging.services import message_send
from tests.browser.conftest import LiveServer, assert_clean, log_in, screenshot
from tests.factories import make_user
from tweets.services import tweet_create

pytestmark = pytest.mark.browser


@cache
def axe_source() -> str:
    spec = importlib.util.find_spec("axe_playwright_python")
    assert spec is not None, "axe-playwright-python is missing: it is in the dev extras (make install)"
    assert spec.origin is not None
    return (Path(spec.origin).parent / "axe.min.js").read_text(encoding="utf-8")


def axe_violations(page: Page) -> list[str]:
    """axe-core's violations on the page as it is now (WCAG 2.x A/AA and best practices), one
    readable line per failing node."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(axe_source())
    results: dict[str, Any] = page.evaluate("() => window.axe.run(document, { resultTypes: ['violations'] })")
    return [
        f"{violation['id']} ({violation['impact']}) {' '.join(node['target'])}: {node['failureSummary']}"
        for violation in results["violations"]
        for node in violation["nodes"]
    ]


def check(page: Page, url: str, name: str) -> dict[str, list[str]]:
    """Open `url`, run axe in the light and the dark colour scheme; {"url scheme": violations}."""
    found: dict[str, list[str]] = {}
    page.goto(url)
    page.wait_for_load_state("load")
    # Let entrance animations end: axe measures colours as they are painted. Endless ones (the
    # admin panel's live dot) never finish and are left alone.
    page.evaluate(
        """() => Promise.all(document.getAnimations()
            .filter((a) => a.effect && a.effect.getComputedTiming().endTime !== Infinity)
            .map((a) => a.finished))"""
    )
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        violations = axe_violations(page)
        if violations:
            found[f"{url} ({scheme})"] = violations
    page.emulate_media(color_scheme="light")
    screenshot(page, f"axe-{name}")
    return found


def test_axe_finds_what_it_should(page: Page, live: LiveServer) -> None:
    """The check can fail: a page made to break two rules reports both."""
    page.goto(live.url + "/accounts/login/")
    page.evaluate(
        """() => {
            document.querySelector("label").remove();
            document.querySelector("h1").setAttribute("role", "nonsense");
        }"""
    )
    violations = "\n".join(axe_violations(page))
    assert "\nlabel (" in "\n" + violations
    assert "\naria-roles (" in "\n" + violations


def test_every_page_has_zero_axe_violations(
    page: Page, other_page: Page, live: LiveServer, settings: Settings
) -> None:
    settings.EMAIL_BACKEND = "mailcatcher.backends.CapturingEmailBackend"
    settings.MAIL_DELIVERY_BACKEND = ""
    ann = make_user("ann", name="Ann Example", bio="Runs before breakfast.")
    bob = make_user("bob", name="Bob Builder", bio="Builds things.", location="Berlin", website="https://example.org")
    make_user("cat", name="Cat Person")
    follow_create(follower=ann, followee=bob)
    follow_create(follower=bob, followee=ann)
    tweet_create(author=bob, text="Hello #running friends, see you at 7 with @ann")
    tweet_create(author=ann, text="Hello Bob! #running is better together")
    tweet_create(author=bob, text="A longer one: https://example.org/path and #Running again")
    message_send(sender=bob, recipient=ann, text="Coffee after the run?")
    message_send(sender=ann, recipient=bob, text="Yes please")
    send_mail("Welcome to TweetHub", "Hello Ann, welcome.", None, ["ann@example.com"])

    found: dict[str, list[str]] = {}
    visitor = page
    for path, name in [("/", "landing"), ("/accounts/login/", "login"), ("/accounts/signup/", "signup")]:
        found |= check(visitor, live.url + path, name)

    member = other_page
    log_in(member, live, "ann")  # this browser may now read ann's captured mail (demo mode)
    for path, name in [
        ("/", "home"),
        ("/@bob/", "profile"),
        ("/search/?q=hello", "search"),
        ("/tags/running/", "tag"),
        ("/discover/", "discover"),
        ("/messages/", "messages-inbox"),
        ("/messages/bob/", "conversation"),
        ("/settings/profile/", "settings"),
        ("/admin/", "admin-panel"),
        ("/admin/mails/?to=ann", "mail-inbox"),
    ]:
        found |= check(member, live.url + path, name)
    expect(member.get_by_role("heading", level=1)).to_be_visible()

    assert found == {}, "\n".join(f"{page}:\n  " + "\n  ".join(lines) for page, lines in found.items())
    assert_clean(visitor)
    assert_clean(member)
