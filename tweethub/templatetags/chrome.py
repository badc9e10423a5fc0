"""The page chrome every page repeats: the header with its nav (and the verify notice), the footer
with the developer tools' links and the site's scripts, and the empty compose form.

Rendering them through the template engine for every request was a large share of a page's CPU
(about ten {% url %} reversals, a dozen {% if %} and {% static %}), yet they depend on a handful of
facts only. Each is rendered once per distinct combination of those facts and kept in this
process's memory (an LRU of PAGE_CHROME_CACHE_SIZE entries per kind; nothing shared between
processes, so nothing to invalidate across them). What differs per request is filled in at
markers: the request's own masked CSRF token (`get_token(request)`, never a cached one) and the
verify notice's next= path.

- The facts (HeaderFacts, FooterFacts) are the cache key and the only values the templates see:
  no request, no user object, so a cached entry cannot carry anything of the request that
  rendered it first.
- Markers are random per process (secrets.token_hex), so no user-written text can forge one, and
  user-written values (username, email) are escaped by the template engine when rendered.
- With DEBUG on nothing is kept (templates change under a developer's hands); a changed setting
  (tests' override_settings) drops everything kept, since the HTML reads DEMO_MODE, STATIC_URL,
  TIME_ZONE, URLs and TWEET_MAX_LENGTH.
"""

from __future__ import annotations

import functools
import secrets
from dataclasses import dataclass
from typing import Any

from django import forms, template
from django.conf import settings
from django.core.signals import setting_changed
from django.http import HttpRequest
from django.middleware.csrf import get_token
from django.template import Engine
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from tweethub import badges

register = template.Library()

_CSRF = f"csrf{secrets.token_hex(16)}"  # rendered where {% csrf_token %} puts the token's value
_NEXT = f"next{secrets.token_hex(16)}"  # rendered where the verify notice's next= path goes
# Where the unread badges (nav) and the title's count go: per request, never kept (tweethub.badges).
_BADGE_NOTIFICATIONS = f"badgen{secrets.token_hex(16)}"
_BADGE_MESSAGES = f"badgem{secrets.token_hex(16)}"
_TITLE_COUNT = f"title{secrets.token_hex(16)}"
# A page frame kept whole (timelines.page) sets this in its context: the badges stay markers in it,
# and fill_badges() puts each request's own counts in.
FRAME_CONTEXT = "chrome_frame"

# url_name -> the nav item it makes current (the namespaced and per-user ones are in _current).
_NAV_ITEMS = {
    "landing": "home",
    "search": "search",
    "discover": "discover",
    "nearby": "discover",
    "discover_list": "discover",
    "settings_profile": "settings",
    "settings_location": "settings",
    "password_change": "settings",
    "login": "login",
}
_NAV_NAMESPACES = {"messaging": "messages", "adminpanel": "panel", "notifications": "notifications"}


@dataclass(frozen=True)
class HeaderFacts:
    """Everything the header shows. `username` is None for a visitor; `unverified_email` is set
    only for a member who has not confirmed it (the notice); `current` names the nav item."""

    demo_mode: bool
    username: str | None
    is_staff: bool
    unverified_email: str
    current: str


def _current(request: HttpRequest | None, username: str | None) -> str:
    match = getattr(request, "resolver_match", None)
    if match is None:  # 404s, and responses made before URL resolution
        return ""
    if match.namespace in _NAV_NAMESPACES:
        return _NAV_NAMESPACES[match.namespace]
    if match.namespace == "mailcatcher" and match.url_name == "list":
        return "mail"
    if match.url_name == "profile":
        # Only one's own profile is "Profile"; usernames match case-insensitively.
        own = username is not None and str(match.kwargs.get("username", "")).lower() == username.lower()
        return "profile" if own else ""
    return _NAV_ITEMS.get(match.url_name or "", "")


def header_facts(request: HttpRequest | None) -> HeaderFacts:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return HeaderFacts(
            demo_mode=settings.DEMO_MODE,
            username=None,
            is_staff=False,
            unverified_email="",
            current=_current(request, None),
        )
    username = str(user.username)
    return HeaderFacts(
        demo_mode=settings.DEMO_MODE,
        username=username,
        is_staff=bool(user.is_staff),
        unverified_email="" if user.is_verified else str(user.email),
        current=_current(request, username),
    )


@dataclass(frozen=True)
class FooterFacts:
    """Everything the footer shows. `tools`: it links "How it works" and "Mail" (a member who may
    open them: DEMO_MODE or staff; visitors find them in the nav); `current` is "panel" or "mail"
    when that is the page, else ""."""

    demo_mode: bool
    authenticated: bool
    tools: bool
    current: str


def footer_facts(request: HttpRequest | None) -> FooterFacts:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return FooterFacts(demo_mode=settings.DEMO_MODE, authenticated=False, tools=False, current="")
    tools = bool(settings.DEMO_MODE or user.is_staff)
    current = _current(request, None) if tools else ""
    return FooterFacts(
        demo_mode=settings.DEMO_MODE,
        authenticated=True,
        tools=tools,
        current=current if current in ("panel", "mail") else "",
    )


def _render_header(facts: HeaderFacts) -> str:
    return render_to_string(
        "_site_header.html",
        {
            "DEMO_MODE": facts.demo_mode,
            "username": facts.username,
            "is_staff": facts.is_staff,
            "unverified_email": facts.unverified_email,
            "current": facts.current,
            "csrf_token": _CSRF,
            "next_path": _NEXT,
            "badge_notifications": mark_safe(_BADGE_NOTIFICATIONS),  # noqa: S308 - a marker of our own
            "badge_messages": mark_safe(_BADGE_MESSAGES),  # noqa: S308 - a marker of our own
        },
    )


def _render_footer(facts: FooterFacts) -> str:
    context = {
        "DEMO_MODE": facts.demo_mode,
        "authenticated": facts.authenticated,
        "tools": facts.tools,
        "current": facts.current,
        "time_zone": timezone.get_default_timezone_name(),
    }
    return render_to_string("_site_footer.html", context)


def _render_compose(form_class: type[forms.Form]) -> str:
    return render_to_string("tweets/_compose.html", {"form": form_class(), "csrf_token": _CSRF})


_kept_header = functools.lru_cache(maxsize=settings.PAGE_CHROME_CACHE_SIZE)(_render_header)
# Footers: visitor or member, times DEMO_MODE, times tools with "", "panel" or "mail" current.
_kept_footer = functools.lru_cache(maxsize=16)(_render_footer)
_kept_compose = functools.lru_cache(maxsize=8)(_render_compose)


def forget(**_: Any) -> None:
    """Drop every kept fragment (the next page renders them afresh)."""
    _kept_header.cache_clear()
    _kept_footer.cache_clear()
    _kept_compose.cache_clear()


setting_changed.connect(forget, dispatch_uid="tweethub.chrome.forget")


def _badge(kind: str, label: str) -> str:
    # static/js/badges.js keeps it current over the websocket; `hidden` when there is nothing unread.
    hidden = "" if label else " hidden"
    text = f"{label} unread" if label else ""
    return (
        f'<span class="nav-badge" data-badge="{kind}"{hidden}><span aria-hidden="true">{escape(label)}</span>'
        f'<span class="visually-hidden">{escape(text)}</span></span>'
    )


def fill_badges(html: str, request: HttpRequest | None) -> str:
    """Put the member's badges and title count at their markers (one query for the request, shared
    by every marker; none when the HTML has no marker, e.g. a visitor's header)."""
    if _BADGE_NOTIFICATIONS not in html and _BADGE_MESSAGES not in html and _TITLE_COUNT not in html:
        return html
    counts = badges.for_request(request)
    notifications = counts.notifications_label if counts else ""
    messages = counts.messages_label if counts else ""
    title = counts.label(counts.total) if counts else ""
    return (
        html.replace(_BADGE_NOTIFICATIONS, _badge("notifications", notifications))
        .replace(_BADGE_MESSAGES, _badge("messages", messages))
        .replace(_TITLE_COUNT, f"({escape(title)}) " if title else "")
    )


def _fill(html: str, request: HttpRequest | None, *, badges_too: bool = True) -> SafeString:
    # Only a fragment with a form asks for the token: get_token() sets the CSRF cookie, which a
    # visitor's page without forms should not get.
    if request is not None and _CSRF in html:
        html = html.replace(_CSRF, get_token(request))
    if request is not None and _NEXT in html:
        html = html.replace(_NEXT, escape(request.get_full_path()))
    if badges_too:
        html = fill_badges(html, request)
    return mark_safe(html)  # noqa: S308 - rendered by the template engine; fills are a token and escape() output


@register.simple_tag(takes_context=True)
def site_header(context: template.Context) -> SafeString:
    """The header, its nav and (for an unconfirmed member) the verify notice."""
    request: HttpRequest | None = context.get("request")
    facts = header_facts(request)
    html = _render_header(facts) if settings.DEBUG else _kept_header(facts)
    return _fill(html, request, badges_too=not context.get(FRAME_CONTEXT))


@register.simple_tag(takes_context=True)
def title_count(context: template.Context) -> SafeString:
    """The "(3) " before a member's page title when they have unread notifications or messages (kept
    current by static/js/badges.js); nothing for visitors."""
    if context.get(FRAME_CONTEXT):
        return mark_safe(_TITLE_COUNT)  # noqa: S308 - a marker of our own, filled by fill_badges
    return mark_safe(fill_badges(_TITLE_COUNT, context.get("request")))  # noqa: S308 - escape() output


@register.simple_tag(takes_context=True)
def site_footer(context: template.Context) -> SafeString:
    """The footer (with the developer tools' links for members who may use them), static/js/ages.js
    and static/js/nav.js for every page and static/js/live.js for members."""
    facts = footer_facts(context.get("request"))
    return mark_safe(_render_footer(facts) if settings.DEBUG else _kept_footer(facts))  # noqa: S308 - template output


@register.simple_tag(takes_context=True)
def compose_form(context: template.Context, form: forms.Form) -> SafeString:
    """tweets/_compose.html for `form`. An unbound form renders the same for everyone, so it is
    rendered once from its class and completed with the request's CSRF token; a bound one (the
    text and error coming back after a failed post) is rendered in full, with the page's context."""
    request: HttpRequest | None = context.get("request")
    if form.is_bound or request is None or settings.DEBUG:
        # Rendered as {% include %} would: in this page's context.
        engine = context.template.engine if context.template is not None else Engine.get_default()
        with context.push(form=form):
            return mark_safe(engine.get_template("tweets/_compose.html").render(context))  # noqa: S308 - template output, escaped by the engine
    return _fill(_kept_compose(type(form)), request)
