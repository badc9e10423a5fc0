"""{% demo_login as demo %}: the shared demo login in DEMO_MODE, else None (accounts.demo).

A tag rather than view context because the login page's view belongs to accounts, which knows
nothing of the demo; it asks Postgres at most once a minute while the account exists."""

from __future__ import annotations

from django import template

from accounts.demo import DemoLogin
from accounts.demo import demo_login as _demo_login

register = template.Library()


@register.simple_tag
def demo_login() -> DemoLogin | None:
    return _demo_login()
