"""Visibility rules at the query level (the views are tested in test_views.py)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core import mail
from django.test import override_settings

from mailcatcher.models import CapturedMail
from mailcatcher.selectors import mail_for_viewer, mail_page, mails_visible_to
from tests.mailcatcher.conftest import MakeUser


@pytest.mark.django_db
def test_a_mail_to_two_accounts_is_listed_once_and_only_for_its_recipients(make_user: MakeUser) -> None:
    alice, bob, carol = make_user("alice"), make_user("bob"), make_user("carol")
    mail.send_mail("Both", "x", None, [alice.email, bob.email])

    assert [m.subject for m in mails_visible_to(user=alice)] == ["Both"]
    assert [m.subject for m in mails_visible_to(user=bob)] == ["Both"]
    assert not mails_visible_to(user=carol).exists()
    assert not mails_visible_to(user=AnonymousUser()).exists()


@pytest.mark.django_db
def test_an_inactive_account_reads_nothing(make_user: MakeUser) -> None:
    """A suspended account's session may outlive the suspension by a request: still nothing."""
    kept_out = make_user("kept_out", is_active=False)
    mail.send_mail("Hi", "x", None, [kept_out.email])

    assert not mails_visible_to(user=kept_out).exists()


@pytest.mark.django_db
def test_inactive_staff_is_not_staff(make_user: MakeUser) -> None:
    former = make_user("former", is_staff=True, is_active=False)
    mail.send_mail("Secret", "x", None, ["someone@example.com"])

    assert not mails_visible_to(user=former).exists()


@pytest.mark.django_db
@override_settings(DEMO_MODE=False)
def test_own_mail_is_not_shown_outside_demo_mode(make_user: MakeUser) -> None:
    alice = make_user("alice")
    mail.send_mail("Hi", "x", None, [alice.email])
    mail_id = CapturedMail.objects.get().pk

    assert not mails_visible_to(user=alice).exists()
    with pytest.raises(CapturedMail.DoesNotExist):
        mail_for_viewer(mail_id=mail_id, user=alice)


@pytest.mark.django_db
def test_page_filter_by_username_is_case_insensitive_and_stays_within_visibility(
    make_user: MakeUser,
) -> None:
    alice, bob = make_user("Alice"), make_user("bob")
    mail.send_mail("To alice", "x", None, [alice.email])
    mail.send_mail("To bob", "x", None, [bob.email])

    page = mail_page(user=alice, to_username="ALICE")
    assert [m.subject for m in page.mails] == ["To alice"]
    # bob's mail exists, but alice may not read it: the filter cannot widen visibility.
    page = mail_page(user=alice, to_username="bob")
    assert list(page.mails) == []
