"""Login limits count failures only, and nobody can lock the owner out of their own address
(issue 17, item 10). Ten wrong passwords from anywhere used to lock any known account out of login
for ten minutes, and the owner's own successful logins counted towards it too."""

from __future__ import annotations

import pytest
from django.test import Client
from django.test.utils import override_settings

from tests.factories import PASSWORD, make_user

OWNER_HOME, OWNER_TRAVELLING = "198.51.100.1", "198.51.100.2"
ATTACKERS = ["203.0.113.1", "203.0.113.2", "203.0.113.3", "203.0.113.4"]


def _login(address: str, username: str, password: str = PASSWORD) -> tuple[int, str]:
    """One login from a fresh browser at `address`: (status, page text)."""
    response = Client(REMOTE_ADDR=address).post("/accounts/login/", {"username": username, "password": password})
    return response.status_code, response.content.decode()


@pytest.mark.django_db
@override_settings(RATE_LIMIT_LOGIN_PER_IP="4/10m", RATE_LIMIT_LOGIN_PER_ACCOUNT="3/10m")
def test_successful_logins_do_not_count_failures_do() -> None:
    make_user("sam")
    assert [_login(OWNER_HOME, "sam")[0] for _ in range(8)] == [302] * 8
    assert [_login(OWNER_HOME, "sam", "wrong")[0] for _ in range(3)] == [400] * 3
    status, page = _login(OWNER_HOME, "sam")  # now even the right password waits
    assert status == 429
    assert "Too many failed logins for this account from your network" in page


@pytest.mark.django_db
@override_settings(RATE_LIMIT_LOGIN_PER_ACCOUNT="3/10m")
def test_an_attackers_failures_do_not_lock_the_owner_out_and_the_attacker_stays_limited() -> None:
    make_user("tess", email="tess@example.com")
    attacker = ATTACKERS[0]
    assert [_login(attacker, "tess", "guess")[0] for _ in range(3)] == [400] * 3

    assert _login(OWNER_HOME, "tess")[0] == 302
    assert _login(OWNER_TRAVELLING, "tess")[0] == 302

    for identifier in ("tess", "TESS@example.com"):  # by name or by email, the same account
        status, page = _login(attacker, identifier, "guess")
        assert status == 429
        assert "Too many failed logins for this account" in page
    assert _login(attacker, "tess")[0] == 429  # even with the right password, from there


@pytest.mark.django_db
@override_settings(
    RATE_LIMIT_LOGIN_PER_ACCOUNT="3/10m",
    RATE_LIMIT_LOGIN_ACCOUNT_CEILING="6/1h",
    RATE_LIMIT_LOGIN_PER_ACCOUNT_SLOWED="1/1h",
)
def test_over_the_account_ceiling_new_addresses_are_slowed_down_and_the_owners_is_not() -> None:
    """Guessing from many addresses: past the ceiling each new address gets a single failure an
    hour here, the owner's usual address (it logged in before) keeps its own limit, and an owner
    somewhere new with the right password still gets in."""
    make_user("uma")
    assert _login(OWNER_HOME, "uma")[0] == 302  # the owner's usual address, known from now on
    for attacker in ATTACKERS[:2]:
        assert [_login(attacker, "uma", "guess")[0] for _ in range(3)] == [400] * 3  # 6: the ceiling

    attacker = ATTACKERS[2]
    assert _login(attacker, "uma", "guess")[0] == 400
    status, page = _login(attacker, "uma", "guess")
    assert status == 429
    assert "only a few tries an hour from a network it was not used from before" in page
    assert _login(ATTACKERS[3], "uma", "guess")[0] == 400  # one more address, one more guess
    assert _login(ATTACKERS[3], "uma", "guess")[0] == 429

    # The owner at home: a typo or two, then in, as on any day.
    assert [_login(OWNER_HOME, "uma", "typo")[0] for _ in range(2)] == [400, 400]
    assert _login(OWNER_HOME, "uma")[0] == 302
    # Travelling, with the right password: in at the first try, and that address is known now.
    assert _login(OWNER_TRAVELLING, "uma")[0] == 302
    assert _login(OWNER_TRAVELLING, "uma", "typo")[0] == 400
    assert _login(OWNER_TRAVELLING, "uma", "typo")[0] == 400
    assert _login(OWNER_TRAVELLING, "uma")[0] == 302


@pytest.mark.django_db
@override_settings(RATE_LIMIT_LOGIN_PER_IP="3/10m", RATE_LIMIT_LOGIN_PER_ACCOUNT="100/10m")
def test_failures_from_one_address_at_many_accounts_are_limited() -> None:
    for n in range(3):
        make_user(f"v{n}")
        assert _login(ATTACKERS[0], f"v{n}", "wrong")[0] == 400
    status, page = _login(ATTACKERS[0], "v0")
    assert status == 429
    assert "Too many failed logins from your network" in page
    assert _login(OWNER_HOME, "v0")[0] == 302
