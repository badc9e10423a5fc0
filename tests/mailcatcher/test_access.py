"""The session grants: which accounts' mail this browser may read in demo mode."""

from __future__ import annotations

from importlib import import_module

from django.conf import settings
from django.contrib.sessions.backends.base import SessionBase

from mailcatcher.access import MAX_GRANTS, SESSION_KEY, grant, granted_user_ids


def _session() -> SessionBase:
    store: SessionBase = import_module(settings.SESSION_ENGINE).SessionStore()
    return store


def test_a_fresh_session_has_no_grants() -> None:
    assert granted_user_ids(_session()) == []


def test_grants_are_deduplicated_most_recent_last() -> None:
    session = _session()
    for user_id in (3, 7, 3, 9):
        grant(session, user_id)

    assert granted_user_ids(session) == [7, 3, 9]
    assert session.modified  # so the session middleware saves it


def test_only_the_most_recent_grants_are_kept() -> None:
    session = _session()
    for user_id in range(1, MAX_GRANTS + 11):
        grant(session, user_id)

    assert granted_user_ids(session) == list(range(11, MAX_GRANTS + 11))


def test_malformed_session_data_grants_nothing() -> None:
    session = _session()
    session[SESSION_KEY] = "1,2"
    assert granted_user_ids(session) == []

    session[SESSION_KEY] = [True, "4", None, 5]
    assert granted_user_ids(session) == [5]
