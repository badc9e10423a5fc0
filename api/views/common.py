"""What every router shares: the documented error responses and the person an operation is about."""

from __future__ import annotations

from typing import Any

from accounts.models import User
from accounts.selectors import profile_by_username
from api.problems import Problem
from api.schemas import ProblemOut
from tweethub.usernames import USERNAME_PATTERN

# Any operation may answer these: credentials that do not work (401), and too many of those from
# one address (429); a database outage (503).
ALWAYS = (401, 429, 503)


def errors(*codes: int) -> dict[int, Any]:
    """The problem responses an operation documents: ALWAYS plus its own."""
    return dict.fromkeys(sorted({*ALWAYS, *codes}), ProblemOut)


def person(username: str) -> User:
    """The active account with this username (any capitalisation, a leading @ allowed); 404 for
    anyone else, a suspended account included, as its profile page does."""
    name = username.removeprefix("@")
    try:
        if not USERNAME_PATTERN.fullmatch(name):
            raise User.DoesNotExist
        return profile_by_username(name)
    except User.DoesNotExist:
        raise Problem(404, "There is nobody by that name on TweetHub.", kind="not-found") from None
