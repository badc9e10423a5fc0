"""Rate limits on Redis: a sliding-window counter per (scope, key).

The window is approximated from two fixed buckets (this one and the previous one, weighted by how
much of it still overlaps the window), which smooths the burst a plain fixed window allows at its
boundary, at the cost of one pipelined round trip and two small keys per limit.

Limits protect against abuse; they are not a security boundary on their own. If Redis is down we
let the request through (and log it) rather than lock every user out of the site.
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

from tweethub.redis import feeds

logger = logging.getLogger(__name__)

_RATE = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*([smhd])\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


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


def _key(scope: str, key: str, bucket: int) -> str:
    # Keys may be emails or IPs: hash them so no personal data sits in Redis key names.
    digest = hashlib.sha256(key.lower().encode()).hexdigest()[:24]
    return f"rl:{scope}:{digest}:{bucket}"


def hit(*, scope: str, key: str, rate: str | Rate, message: str) -> None:
    """Count one attempt for (scope, key); raise RateLimited when over `rate`.

    The attempt is counted even when refused, so hammering a limit keeps it closed.
    """
    limit = rate if isinstance(rate, Rate) else Rate.parse(rate)
    now = time.time()
    bucket = int(now // limit.seconds)
    elapsed_fraction = (now % limit.seconds) / limit.seconds
    current_key, previous_key = _key(scope, key, bucket), _key(scope, key, bucket - 1)
    try:
        pipe = feeds().pipeline(transaction=False)
        pipe.incr(current_key)
        pipe.expire(current_key, limit.seconds * 2)
        pipe.get(previous_key)
        current, _, previous = pipe.execute()
    except redis.RedisError:
        logger.warning("rate limit %s not checked: Redis unavailable", scope, exc_info=True)
        return
    weighted = int(current) + int(previous or 0) * (1 - elapsed_fraction)
    if weighted > limit.count:
        retry_after = max(1, math.ceil(limit.seconds * (1 - elapsed_fraction)))
        raise RateLimited(scope=scope, retry_after=retry_after, message=message)


def rate_setting(name: str) -> Rate:
    """The Rate in settings.<name>, validated (a typo fails loudly, not as 'no limit')."""
    return Rate.parse(str(getattr(settings, name)))
