"""Whose mail a viewer may read (mailcatcher.access), decided from the viewer alone."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from pytest_django import Settings

from mailcatcher.access import can_open_inbox, own_account_ids, sees_all_mail
from tests.mailcatcher.conftest import MakeUser


def test_a_visitor_who_is_not_logged_in_owns_no_account(db: None) -> None:
    assert own_account_ids(AnonymousUser()) == []
    assert can_open_inbox(AnonymousUser())  # demo mode: the page exists, and is empty


def test_a_logged_in_member_owns_exactly_their_account(make_user: MakeUser) -> None:
    alice = make_user("alice")
    assert own_account_ids(alice) == [alice.pk]
    assert not sees_all_mail(alice)


def test_an_inactive_account_owns_nothing(make_user: MakeUser) -> None:
    assert own_account_ids(make_user("gone", is_active=False)) == []


def test_outside_demo_mode_members_own_no_mail_and_only_staff_open_the_inbox(
    make_user: MakeUser, settings: Settings
) -> None:
    settings.DEMO_MODE = False
    alice, staff = make_user("alice"), make_user("ops", is_staff=True)
    assert own_account_ids(alice) == []
    assert not can_open_inbox(alice)
    assert can_open_inbox(staff)
    assert sees_all_mail(staff)


@pytest.mark.parametrize("active", [True, False])
def test_only_active_staff_see_all_mail(make_user: MakeUser, active: bool) -> None:
    assert sees_all_mail(make_user("ops", is_staff=True, is_active=active)) is active
