"""Login attempts: credentials, with their rate limits."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import authenticate

from accounts.models import User
from accounts.services.common import AccountSuspended
from tweethub.ratelimit import Attempt, hit, mark, marked, over, rate_setting, record, refund


def credentials_check(*, identifier: str, password: str, ip: str) -> User | None:
    """The user these credentials belong to, or None. Raises RateLimited over a limit (checked
    before the password), AccountSuspended for a suspended account's right password.

    Only failures count: each attempt is counted up front (so a concurrent burst cannot slip past a
    limit) and a right password takes it back. Three limits (issue 17, item 10):
    - RATE_LIMIT_LOGIN_PER_IP: failures from one address, at any accounts.
    - RATE_LIMIT_LOGIN_PER_ACCOUNT, the hard one: failures at one account from one address. Keyed
      by the address too, so failures from elsewhere never lock the owner out of their own.
    - RATE_LIMIT_LOGIN_ACCOUNT_CEILING: failures at one account from everywhere. Over it the account
      only slows down: an address that has not logged into it within LOGIN_KNOWN_ADDRESS_DAYS gets
      RATE_LIMIT_LOGIN_PER_ACCOUNT_SLOWED tries, while the owner's usual address keeps the hard
      limit alone. This bounds a guesser spread over many addresses without locking anyone out.
    Unknown names are limited like accounts, under their own key, so probing costs the same.
    """
    counted = [
        hit(
            scope="login-ip",
            key=ip,
            rate=rate_setting("RATE_LIMIT_LOGIN_PER_IP"),
            message="Too many failed logins from your network. Please wait a little.",
        )
    ]
    identifier = identifier.strip()
    lookup = {"email__iexact": identifier} if "@" in identifier else {"username__iexact": identifier}
    account_id = User.objects.filter(**lookup).values_list("pk", flat=True).first()
    account = f"user:{account_id}" if account_id else f"name:{identifier.lower()}"
    from_here = f"{account}|{ip}"
    counted += _count_at_account(account=account, from_here=from_here)
    user = authenticate(None, username=identifier, password=password)
    if isinstance(user, User):
        refund(*counted)
        mark(scope="login-known", key=from_here, seconds=settings.LOGIN_KNOWN_ADDRESS_DAYS * 86400)
        return user
    record(scope="login-account-all", key=account, rate=rate_setting("RATE_LIMIT_LOGIN_ACCOUNT_CEILING"))
    if account_id:
        # Django's backend refuses inactive accounts as if the password were wrong. Tell the owner
        # (only someone who knows the password) that it is suspended, not that they mistyped.
        suspended = User.objects.filter(pk=account_id, suspended_at__isnull=False).first()
        if suspended is not None and suspended.check_password(password):
            raise AccountSuspended()
    return None


def _count_at_account(*, account: str, from_here: str) -> list[Attempt | None]:
    """Count this attempt at `account` ("user:<id>", or "name:<name>" for unknown names) from
    `from_here` (account|address) under the hard per-account limit, and under the slowed one when
    the account is over its ceiling and this address has not logged into it before. Raises
    RateLimited over either; returns the attempts counted, for a refund when the password is right."""
    counted = [
        hit(
            scope="login-account",
            key=from_here,
            rate=rate_setting("RATE_LIMIT_LOGIN_PER_ACCOUNT"),
            message=(
                "Too many failed logins for this account from your network. Wait a little, or reset your password."
            ),
        )
    ]
    ceiling = rate_setting("RATE_LIMIT_LOGIN_ACCOUNT_CEILING")
    if over(scope="login-account-all", key=account, rate=ceiling) and not marked(scope="login-known", key=from_here):
        counted.append(
            hit(
                scope="login-account-slowed",
                key=from_here,
                rate=rate_setting("RATE_LIMIT_LOGIN_PER_ACCOUNT_SLOWED"),
                message=(
                    "This account has had many failed logins lately, so it takes only a few tries an hour "
                    "from a network it was not used from before. Try again later, log in where you usually "
                    "do, or reset your password."
                ),
            )
        )
    return counted
