"""Rate limits on Redis: a sliding-window counter per (scope, key).

The window is approximated from two fixed buckets (this one and the previous one, weighted by how
much of it still overlaps the window), which smooths the burst a plain fixed window allows at its
boundary, at the cost of one pipelined round trip and two small keys per limit.

Limits protect against abuse; they are not a security boundary on their own. If Redis is down we
let the request through (and log it) rather than lock every user out of the site.

Besides `hit` (count, refuse over the limit): `refund` takes back an attempt that turned out fine
(logins count failures only), `record` / `over` count and read a level without refusing anything
(a ceiling that changes what other limits apply), and `mark` / `marked` remember a fact for a while
(an address an account logged in from). All keys are `rl:*`, hashed, with a TTL.
"""

from __future__ import annotations

import hashlib
import logging
import math
import re
import time
from dataclasses import dataclass

import redis
from django.conf import settings

from tweethub.redis import Role, counters, script
from tweethub.rediskeys import KeyFamily

logger = logging.getLogger(__name__)

_RATE = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*([smhd])\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}

REDIS_KEYS = (
    KeyFamily(
        key="rl:<scope>:<hash>[:<bucket>]",
        pattern="rl:*",
        role=Role.COUNTERS,
        holds="rate-limit windows (with a bucket), levels and marks (an address an account logged in from)",
        rebuilt_by="start empty (limits reopen)",
        purge=True,
    ),
)


@dataclass(frozen=True)
class Rate:
    count: int
    seconds: int

    @classmethod
    def parse(cls, text: str) -> Rate:
        """'10/1h' -> 10 per 3600 s; '5/m' -> 5 per 60 s."""
        match = _RATE.match(text)
        if not match:
            raise ValueError(f"not a rate: {text!r} (expected e.g. '10/1h', '30/10m')")
        count, amount, unit = match.groups()
        return cls(count=int(count), seconds=int(amount or 1) * _UNIT_SECONDS[unit])


class RateLimited(Exception):
    """Raised by a service when a limit is exceeded; RateLimitedMiddleware answers 429."""

    def __init__(self, *, scope: str, retry_after: int, message: str) -> None:
        super().__init__(message)
        self.scope = scope
        self.retry_after = retry_after
        self.message = message


@dataclass(frozen=True)
class Attempt:
    """One attempt `hit` counted, which `refund` can take back."""

    key: str  # the Redis key of the bucket that counted it


def _key(scope: str, key: str, bucket: int | None) -> str:
    # Keys may be emails or IPs: hash them so no personal data sits in Redis key names.
    digest = hashlib.sha256(key.lower().encode()).hexdigest()[:24]
    return f"rl:{scope}:{digest}" if bucket is None else f"rl:{scope}:{digest}:{bucket}"


def _window(limit: Rate) -> tuple[int, float]:
    """This bucket's number and how much of it has passed (0..1)."""
    now = time.time()
    return int(now // limit.seconds), (now % limit.seconds) / limit.seconds


def _count(scope: str, key: str, limit: Rate, *, add: bool) -> tuple[float, str, float] | None:
    """(weighted count, this bucket's key, elapsed fraction) after adding one when `add`; None
    when Redis is unavailable (logged: the caller lets the request through)."""
    bucket, elapsed_fraction = _window(limit)
    current_key, previous_key = _key(scope, key, bucket), _key(scope, key, bucket - 1)
    try:
        pipe = counters().pipeline(transaction=False)
        if add:
            pipe.incr(current_key)
            pipe.expire(current_key, limit.seconds * 2)
        else:
            pipe.get(current_key)
        pipe.get(previous_key)
        *replies, previous = pipe.execute()
    except redis.RedisError:
        logger.warning("rate limit %s not checked: Redis unavailable", scope, exc_info=True)
        return None
    weighted = int(replies[0] or 0) + int(previous or 0) * (1 - elapsed_fraction)
    return weighted, current_key, elapsed_fraction


def hit(*, scope: str, key: str, rate: str | Rate, message: str) -> Attempt | None:
    """Count one attempt for (scope, key); raise RateLimited when over `rate`.

    The attempt is counted even when refused, so hammering a limit keeps it closed. Returns the
    counted attempt, for `refund` (None when Redis was unavailable and nothing was counted).
    """
    limit = rate if isinstance(rate, Rate) else Rate.parse(rate)
    counted = _count(scope, key, limit, add=True)
    if counted is None:
        return None
    weighted, current_key, elapsed_fraction = counted
    if weighted > limit.count:
        retry_after = max(1, math.ceil(limit.seconds * (1 - elapsed_fraction)))
        raise RateLimited(scope=scope, retry_after=retry_after, message=message)
    return Attempt(key=current_key)


# Take one back only from a bucket that still exists (it cannot go below what was counted in it).
_REFUND = """
if redis.call('EXISTS', KEYS[1]) == 1 then return redis.call('DECR', KEYS[1]) end
return false
"""


def refund(*attempts: Attempt | None) -> None:
    """Take back attempts `hit` counted: for limits on failures only (a login with the right
    password), counted before the outcome is known so that a concurrent burst cannot slip past the
    limit. Best effort: with Redis away the attempts stay counted."""
    keys = [attempt.key for attempt in attempts if attempt is not None]
    if not keys:
        return
    try:
        client = counters()
        refund_one = script(client, _REFUND)
        pipe = client.pipeline(transaction=False)
        for key in keys:
            refund_one(keys=[key], client=pipe)
        pipe.execute()
    except redis.RedisError:
        logger.warning("rate limit refund failed: Redis unavailable", exc_info=True)


def record(*, scope: str, key: str, rate: str | Rate) -> None:
    """Count one event for (scope, key) in `rate`'s window, refusing nothing (see `over`)."""
    _count(scope, key, rate if isinstance(rate, Rate) else Rate.parse(rate), add=True)


def over(*, scope: str, key: str, rate: str | Rate) -> bool:
    """Whether (scope, key) has recorded at least `rate`'s count in its window. Counts nothing;
    False when Redis is unavailable."""
    limit = rate if isinstance(rate, Rate) else Rate.parse(rate)
    counted = _count(scope, key, limit, add=False)
    return counted is not None and counted[0] >= limit.count


def mark(*, scope: str, key: str, seconds: int) -> None:
    """Remember (scope, key) for `seconds` (renewed by each mark). Best effort."""
    try:
        counters().set(_key(scope, key, None), 1, ex=seconds)
    except redis.RedisError:
        logger.warning("rate limit mark %s not kept: Redis unavailable", scope, exc_info=True)


def marked(*, scope: str, key: str) -> bool:
    """Whether (scope, key) was marked and has not expired; False when Redis is unavailable."""
    try:
        return bool(counters().exists(_key(scope, key, None)))
    except redis.RedisError:
        logger.warning("rate limit mark %s not read: Redis unavailable", scope, exc_info=True)
        return False


def rate_setting(name: str) -> Rate:
    """The Rate in settings.<name>, validated (a typo fails loudly, not as 'no limit')."""
    return Rate.parse(str(getattr(settings, name)))
