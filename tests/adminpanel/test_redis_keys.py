"""Every Redis key the site writes is declared by its owner (adminpanel.rediskeys collects them),
and the docs' table is the one the declarations give."""

from __future__ import annotations

import re
from pathlib import Path

from django.conf import settings
from django.test import Client

from accounts.services import last_active_flush
from adminpanel import rediskeys
from follows.services import follow_delete
from tests.adminpanel.conftest import SENTINELS, DemoSite
from tests.factories import PASSWORD
from tweethub.redis import Role, feeds, servers
from tweets.services import tweet_create

ROOT = Path(settings.BASE_DIR)
APP_PACKAGES = (
    "accounts",
    "adminpanel",
    "api",
    "follows",
    "mailcatcher",
    "messaging",
    "moderation",
    "timelines",
    "tweets",
    "tweethub",
)


def test_the_key_table_in_the_docs_is_current() -> None:
    written = rediskeys.current_block((ROOT / "docs" / "architecture.md").read_text())
    assert written == rediskeys.render(), "run `python manage.py redis_keys_doc` and commit docs/architecture.md"


def test_every_module_declaring_keys_is_collected() -> None:
    declaring = {
        ".".join(path.relative_to(ROOT).with_suffix("").parts)
        for package in APP_PACKAGES
        for path in (ROOT / package).rglob("*.py")
        if re.search(r"^REDIS_KEYS\b", path.read_text(), re.MULTILINE)
    }
    assert declaring == {owner.__name__ for owner in rediskeys.OWNERS}


def _every_key() -> dict[bytes, list[Role]]:
    """Every key on every Redis the site uses -> the roles its server serves."""
    found: dict[bytes, list[Role]] = {}
    for role in Role:
        for server in servers(role):
            for key in server.scan_iter(count=1000):
                found.setdefault(key, []).append(role)
    return found


def test_every_key_a_short_run_writes_belongs_to_exactly_one_declared_family(demo_site: DemoSite) -> None:
    # demo_site went through sign-up-free accounts, follows, tweets with fan-out (eager tasks),
    # trends, location, messages, rebuilds in flight, cards and presence. Add what a browser does,
    # without the fixture's stand-ins for other tenants of the server (its "default" is no queue).
    feeds().delete(*SENTINELS)
    client = Client()
    signup = client.post(
        "/accounts/signup/", {"name": "Carol Reed", "username": "carol", "email": "carol@example.com"}
    )
    assert signup.status_code == 302
    assert client.post("/accounts/login/", {"username": "bob", "password": PASSWORD}).status_code == 302
    assert client.get("/").status_code == 200
    assert client.get(f"/@{demo_site.alice.username}/").status_code == 200
    assert client.get("/admin/figures.json").status_code == 200
    tweet_create(author=demo_site.alice, text="one more #demo")
    follow_delete(follower=demo_site.alice, followee=demo_site.bob)
    last_active_flush()

    keys = _every_key()
    undeclared = sorted(key for key in keys if not rediskeys.families_of(key))
    assert not undeclared, f"keys written without a declaration (add them to their owner's REDIS_KEYS): {undeclared}"
    ambiguous = {key: rediskeys.families_of(key) for key in keys if len(rediskeys.families_of(key)) > 1}
    assert not ambiguous, f"families whose patterns overlap: {ambiguous}"
    misplaced = sorted(key for key, roles in keys.items() if rediskeys.families_of(key)[0].role not in roles)
    assert not misplaced, f"keys written on another Redis than their family's role: {misplaced}"
    # The run really covered the site: feeds, their state, cards, the cache's keys, counters.
    seen = {rediskeys.families_of(key)[0].key for key in keys}
    assert {"tl:{<user>}", "tlu:{<user>}", "tc:<tweet>", "uc:<user>", "au:{<user>}"} <= seen
    assert {"sess:<session key>", "trend:top", "rl:<scope>:<hash>[:<bucket>]", "metrics:fanout:<minute>"} <= seen
    assert {"cache:<version>:<key>", "ws:online", "geo:users"} <= seen


def test_the_purge_takes_the_families_marked_for_it_and_no_others() -> None:
    purged = {family.key for family in rediskeys.purged()}
    # What stays: sessions, the auth-user rows (the purge forgets those of deleted users itself),
    # presence, history, the broker and Django's cache share the server.
    assert not purged & {"sess:<session key>", "au:{<user>}", "ws:online", "default", "cache:<version>:<key>"}
    assert {"tl:{<user>}", "la:{<user>}", "geo:users", "trend:<hour>", "tc:<tweet>"} <= purged
