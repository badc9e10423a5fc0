"""The token format, in one place: a recognisable prefix (secret scanners can match it) and 256 bits
from the OS's CSPRNG, base64url. Only the SHA-256 digest of the whole string is ever stored."""

from __future__ import annotations

import hashlib
import re
import secrets

PREFIX = "thp_"  # "TweetHub personal"
_BODY_BYTES = 32
_SHAPE = re.compile(r"^thp_[A-Za-z0-9_-]{43}$")
HINT_LENGTH = len(PREFIX) + 6


def new_token() -> str:
    return PREFIX + secrets.token_urlsafe(_BODY_BYTES)


def well_formed(raw: str) -> bool:
    """Whether `raw` could be a token at all: anything else is refused without a query."""
    return bool(_SHAPE.fullmatch(raw))


def digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def hint(raw: str) -> str:
    return raw[:HINT_LENGTH]
