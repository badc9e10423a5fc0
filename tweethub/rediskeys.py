"""Declarations of Redis keys: every module that writes keys says which, next to its key builders.

A module owning keys declares them as `REDIS_KEYS`, a tuple of KeyFamily: the key as people read
it (`tl:{<user>}`), the SCAN pattern that finds every key of the family, the role of the Redis it
lives on (tweethub.redis), what it holds, what rebuilds it, and whether the nightly demo purge
removes it. adminpanel.rediskeys collects the declarations of every owner (it sits above them all);
the demo purge takes its patterns from there instead of restating them, docs/architecture.md's
"Redis keys" table is generated from them, and tests/adminpanel/test_redis_keys.py fails on any key
the app writes that no family declares.

Code outside the owner never builds or scans its keys: it calls the owner (its key functions, or
its census for the admin panel).
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field

from tweethub.redis import Role

_PLACEHOLDER = re.compile(r"<[^>]+>")


@dataclass(frozen=True)
class KeyFamily:
    """Keys of one shape, owned by one module.

    `key`: the key as written in the docs, `<...>` standing for a variable part. `pattern`: the
    SCAN glob (MATCH) that finds exactly this family's keys; by default `key` with every `<...>`
    made `*`. It must not match another family's keys. `channel`: a pub/sub channel, never a
    stored key (not scanned, not purged).
    """

    key: str
    role: Role
    holds: str
    rebuilt_by: str
    purge: bool = False
    channel: bool = False
    pattern: str = field(default="")

    def __post_init__(self) -> None:
        if not self.pattern:
            object.__setattr__(self, "pattern", _PLACEHOLDER.sub("*", self.key))
        if self.purge and self.channel:
            raise ValueError(f"{self.key}: a channel holds no keys to purge")

    def matches(self, key: str | bytes) -> bool:
        """Whether `key` belongs to this family (Redis's glob rules, for the patterns used here:
        `*`, `?` and `[...]`)."""
        name = key.decode(errors="replace") if isinstance(key, bytes) else key
        return fnmatch.fnmatchcase(name, self.pattern)


# Keys of libraries, declared here because no module of ours names them.
REDIS_KEYS = (
    KeyFamily(
        key="cache:<version>:<key>",
        pattern="cache:*",
        role=Role.CACHE,
        holds="Django's cache (settings.CACHES, KEY_PREFIX `cache`): the admin figures and what other code caches",
        rebuilt_by="recomputed by whoever missed it",
    ),
)
