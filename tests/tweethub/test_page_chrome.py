"""The page chrome (tweethub.templatetags.chrome): header, nav, verify notice, footer and the empty
compose form are rendered once per combination of the facts they show and filled in per request
(the request's own CSRF token, the next= path). Real Postgres and Redis, the real middleware."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from accounts.models import User
from tests.factories import make_user
from tweets.models import Tweet

pytestmark = pytest.mark.django_db

TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


@pytest.fixture
def ann() -> User:
    return make_user("ann", name="Ann <b>Example</b>")


def _client_for(user: User, *, enforce_csrf_checks: bool = False) -> Client:
    client = Client(enforce_csrf_checks=enforce_csrf_checks)
    client.force_login(user)
    return client


def _rendered(response: Any) -> list[str]:
    return [template.name for template in response.templates]


def _nav(html: str) -> str:
    return html.split('<nav aria-label="Main">', 1)[1].split("</nav>", 1)[0]


def _current(html: str) -> list[str]:
    return re.findall(r'aria-current="page">([^<]+)(?:</a>|<span class="nav-badge")', _nav(html))


def _footer(html: str) -> str:
    return html.split('<footer class="site-footer">', 1)[1].split("</footer>", 1)[0]


def test_the_header_and_compose_form_are_rendered_once_and_reused(ann: User) -> None:
    client = _client_for(ann)
    first = client.get("/")
    assert {"_site_header.html", "_site_footer.html", "tweets/_compose.html"} <= set(_rendered(first))
    second = client.get("/")
    assert second.status_code == 200
    reused = {"_site_header.html", "_site_footer.html", "tweets/_compose.html", "_form.html"}
    assert reused.isdisjoint(_rendered(second))
    # ... and the page is the same page: the nav, the form, the footer.
    html = second.content.decode()
    assert '<a href="/@ann/">Profile</a>' in html
    assert 'name="text"' in html
    assert 'data-max-length="280"' in html
    assert "Postgres keeps the data, Redis keeps the feeds." in html


def test_with_debug_on_every_page_renders_its_chrome_afresh(ann: User, settings: Any) -> None:
    settings.DEBUG = True
    client = _client_for(ann)
    client.get("/")
    assert "_site_header.html" in _rendered(client.get("/"))


def test_every_page_gets_its_own_masked_csrf_tokens_and_they_are_accepted(ann: User) -> None:
    bob = make_user("bob")
    client = _client_for(ann, enforce_csrf_checks=True)
    pages = [client.get("/").content.decode() for _ in range(2)]
    tokens = [TOKEN.findall(html) for html in pages]
    assert [len(found) for found in tokens] == [2, 2]  # the logout form and the compose form
    assert set(tokens[0]).isdisjoint(tokens[1])  # masked afresh for each request, never a kept copy

    for n, token in enumerate([tokens[0][1], tokens[1][1]]):
        response = client.post("/tweets/", {"text": f"posted with page {n}'s token", "csrfmiddlewaretoken": token})
        assert response.status_code == 302
    assert Tweet.objects.filter(author=ann).count() == 2

    # Someone else's page token is no good with your cookie.
    bob_client = _client_for(bob, enforce_csrf_checks=True)
    bob_client.get("/")
    response = bob_client.post("/tweets/", {"text": "forged", "csrfmiddlewaretoken": tokens[0][1]})
    assert response.status_code == 403
    assert not Tweet.objects.filter(author=bob).exists()

    # The header's logout form works with the token it carries.
    response = client.post("/accounts/logout/", {"csrfmiddlewaretoken": tokens[1][0]})
    assert response.status_code == 302
    assert "Log in" in _nav(client.get("/").content.decode())


def test_a_visitor_page_sets_no_csrf_cookie_and_shows_the_visitor_nav() -> None:
    client = Client()
    client.get("/")  # the kept copy is used from here on
    response = client.get("/")
    assert "csrftoken" not in response.cookies  # no form on it, so no token asked for
    nav = _nav(response.content.decode())
    assert re.findall(r">([^<>]+)</a>", nav) == ["Home", "Search", "How it works", "Mail", "Log in", "Sign up"]
    assert _current(response.content.decode()) == ["Home"]


def test_each_member_sees_their_own_header(ann: User, settings: Any) -> None:
    settings.DEMO_MODE = False  # "How it works" and "Mail": staff only
    staff = make_user("root", is_staff=True)
    ann_client, staff_client = _client_for(ann), _client_for(staff)
    for _ in range(2):  # the second round is served from the kept copies
        ann_html, staff_html = (
            ann_client.get("/search/").content.decode(),
            staff_client.get("/search/").content.decode(),
        )
        ann_nav, staff_nav = _nav(ann_html), _nav(staff_html)
        assert '<a href="/@ann/">Profile</a>' in ann_nav
        assert "/@root/" not in ann_nav
        assert '<a href="/@root/">Profile</a>' in staff_nav
        # Members find the developer tools in the footer, and only staff may use them here.
        for nav in (ann_nav, staff_nav):
            assert "How it works" not in nav
            assert "Mail" not in nav
        assert "How it works" not in _footer(ann_html)
        assert "Mail" not in _footer(ann_html)
        assert '<a href="/admin/">How it works</a>' in _footer(staff_html)
        assert '<a href="/admin/mails/">Mail</a>' in _footer(staff_html)


def test_members_find_the_developer_tools_in_the_footer_and_visitors_in_the_nav(ann: User) -> None:
    client = _client_for(ann)
    for _ in range(2):
        html = client.get("/admin/").content.decode()
        assert re.findall(r'aria-current="page">([^<]+)</a>', _footer(html)) == ["How it works"]
        html = client.get("/admin/mails/").content.decode()
        assert re.findall(r'aria-current="page">([^<]+)</a>', _footer(html)) == ["Mail"]
        assert "aria-current" not in _footer(client.get("/").content.decode())
    visitor = Client().get("/admin/").content.decode()
    assert "How it works" not in _footer(visitor)  # it is in the visitor's nav, current there
    assert _current(visitor) == ["How it works"]


@pytest.mark.parametrize(
    ("path", "current"),
    [
        ("/", ["Home"]),
        ("/search/", ["Search"]),
        ("/discover/", ["Discover"]),
        ("/messages/", ["Messages"]),
        ("/@ann/", ["Profile"]),
        ("/@bob/", []),  # someone else's profile is not "Profile"
        ("/settings/profile/", ["Settings"]),
        ("/accounts/password/change/", ["Settings"]),
        ("/admin/", []),  # a member's "How it works" and "Mail" are in the footer
        ("/admin/mails/", []),
        ("/trending/", []),
        ("/no-such-page/", []),
    ],
)
def test_the_current_nav_item_is_marked(ann: User, path: str, current: list[str]) -> None:
    make_user("bob")
    client = _client_for(ann)
    for _ in range(2):
        response = client.get(path)
        assert response.status_code in (200, 404), path
        assert _current(response.content.decode()) == current, path


def test_the_verify_notice_escapes_the_address_and_the_path(settings: Any) -> None:
    settings.DEMO_MODE = True
    unverified = make_user("newbie", email='"<b>bold</b>"@example.com', verified=False)
    client = _client_for(unverified, enforce_csrf_checks=True)
    client.get("/search/")
    html = client.get('/search/?q="><script>alert(1)</script>').content.decode()
    assert "Confirm your email address" in html
    assert "<strong>&quot;&lt;b&gt;bold&lt;/b&gt;&quot;@example.com</strong>" in html
    assert '<input type="hidden" name="next" value="/search/?q=%22%3E%3Cscript%3Ealert(1)%3C/script%3E">' in html
    assert "<script>alert" not in html
    assert "<b>bold" not in html
    # The notice's form works: its token is this request's, and it sends the reader back.
    token = TOKEN.findall(html)[-1]
    response = client.post("/accounts/verify/resend/", {"csrfmiddlewaretoken": token, "next": "/search/"})
    assert response.status_code == 302


def test_a_verified_member_gets_no_notice_and_an_unverified_one_no_compose_form() -> None:
    verified, unverified = make_user("done"), make_user("pending", verified=False)
    for _ in range(2):
        assert "Confirm your email address" not in _client_for(verified).get("/").content.decode()
        html = _client_for(unverified).get("/").content.decode()
        assert "Confirm your email address" in html
        assert "compose-form" not in html


def test_a_changed_setting_shows_at_once(ann: User, settings: Any) -> None:
    client = _client_for(ann)
    assert 'data-max-length="280"' in client.get("/").content.decode()
    settings.TWEET_MAX_LENGTH = 500
    settings.DEMO_MODE = False
    html = client.get("/").content.decode()
    assert 'data-max-length="500"' in html
    assert "Demo site: data is wiped nightly." not in html


def test_a_failed_tweet_keeps_its_text_and_error(ann: User) -> None:
    """A bound form is rendered in full (the compose page), never replaced by the kept empty one."""
    client = _client_for(ann)
    client.get("/")
    html = client.post("/tweets/", {"text": "x" * 300}).content.decode()
    assert "x" * 300 in html
    assert "field-invalid" in html


def test_the_footer_loads_the_age_script_on_every_page_and_the_live_script_for_members(ann: User) -> None:
    ages = '<script src="/static/js/ages.js" data-time-zone="UTC" defer></script>'
    visitor = Client().get("/").content.decode()
    member = _client_for(ann).get("/").content.decode()
    assert ages in visitor
    assert ages in member
    nav = '<script src="/static/js/nav.js" defer></script>'
    assert nav in visitor
    assert nav in member
    assert "js/live.js" not in visitor
    assert '<script src="/static/js/live.js" defer></script>' in member
    assert Client().get("/static/js/ages.js").status_code == 200
