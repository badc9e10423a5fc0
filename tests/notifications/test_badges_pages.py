"""The badges and the title count are each request's own, on pages whose chrome is kept in memory
(the header fragment, the home page frame): never another member's, never stale."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from notifications import services
from tests.factories import make_user


def _title(html: str) -> str:
    match = re.search(r"<title>(.*?)</title>", html, re.S)
    assert match
    return match.group(1)


def _badge(html: str, kind: str) -> str:
    match = re.search(
        rf'<span class="nav-badge" data-badge="{kind}"( hidden)?><span aria-hidden="true">([^<]*)<', html
    )
    assert match, kind
    return match.group(2)


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/", "/search/", "/notifications/"])
def test_each_member_sees_their_own_counts_on_kept_chrome(
    path: str, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.DEBUG = False  # frames and header fragments are kept (they are not under DEBUG)
    ann, bob, cid = make_user("ann"), make_user("bob"), make_user("cid")
    services.notify(kind="follow", actor_id=bob.pk, recipient_id=ann.pk)
    services.notify(kind="mention", actor_id=cid.pk, recipient_id=ann.pk, object_id=1)
    ann_client, bob_client, visitor = Client(), Client(), Client()
    ann_client.force_login(ann)
    bob_client.force_login(bob)
    for _ in range(2):  # the second time from the kept frame / fragment
        ann_page = ann_client.get(path).content.decode()
        bob_page = bob_client.get(path).content.decode()
        assert _title(ann_page).startswith("(2) "), _title(ann_page)
        assert _badge(ann_page, "notifications") == "2"
        assert not _title(bob_page).startswith("(")
        assert _badge(bob_page, "notifications") == ""
    with django_capture_on_commit_callbacks(execute=True):  # the commit drops the cached counts
        services.notifications_mark_all_read(user=ann)
    ann_page = ann_client.get(path).content.decode()
    assert not _title(ann_page).startswith("(")
    assert _badge(ann_page, "notifications") == ""
    visitor_page = visitor.get("/search/").content.decode()
    assert "nav-badge" not in visitor_page
    assert not _title(visitor_page).startswith("(")
