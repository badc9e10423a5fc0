"""The home-feed store: the only code that touches feed keys in Redis (a package: `keys` names them,
`feeds` writes and reads feeds and author lists, `home` is the home page's one-round-trip read).

A feed is a capped sorted set of tweet ids (member and score are both the id, which sorts by
time) plus a *floor*:

    tl:{<user>}    sorted set of tweet ids: TIMELINE_LENGTH of them, up to TIMELINE_TRIM_SLACK more
    tlf:{<user>}   the floor F: the feed holds EVERY timeline tweet with id > F (0: all of them)
    tlb:{<user>}   while a rebuild runs (the feed is dropped then): tweets pushed meanwhile,
                   merged in when it finishes
    tlr:{<user>}   rebuild lock (one rebuild per user at a time)
    tlq:{<user>}   a rebuild was asked for recently (readers queue one, not one per page view)

An *author list* has the same shape and rules, for one account's own tweets: it exists for
accounts in pull mode (celebrities), whose tweets are not fanned out, so that readers merge them
from Redis instead of from Postgres:

    at:{<author>}, atf:{<author>}, atb:{<author>}, atr:{<author>}, atq:{<author>}

The floor is what makes feeds safe to trim and to read past: a reader takes ids above the floor
from Redis and continues in Postgres at or below it, with no gap and no duplicate. Trimming keeps
the newest ids and raises the floor to the highest id it removed; pushes below the floor are
ignored (Postgres serves that region). A feed "exists" exactly when its floor key exists, so an
empty feed is still a feed, and fan-out never creates a partial feed for someone without one.

Keys carry the user id in a {hash tag}: all of one user's keys live in one Redis Cluster slot.
(The batched scripts below take many users' keys at once, which a cluster would need grouped by
slot first; one Redis server serves all of them today.) Feeds expire FEED_TTL after their last
read, shorter than ACTIVE_DAYS: so a feed that exists always belongs to a user the fan-out still
considers active, and never silently misses tweets.
"""

from __future__ import annotations

from timelines.store.feeds import (
    FeedCensus,
    FeedPage,
    abandon_rebuild,
    begin_rebuild,
    census,
    claim_rebuild_request,
    drop,
    exists,
    finish_rebuild,
    install,
    memory_usage,
    page,
    push,
    remove,
)
from timelines.store.home import HomeRead, PullSource, home_page
from timelines.store.keys import Kind, buffer_key, feed_key, feed_ttl_ms, floor_key, lock_key, request_key

__all__ = [
    "FeedCensus",
    "FeedPage",
    "HomeRead",
    "Kind",
    "PullSource",
    "abandon_rebuild",
    "begin_rebuild",
    "buffer_key",
    "census",
    "claim_rebuild_request",
    "drop",
    "exists",
    "feed_key",
    "feed_ttl_ms",
    "finish_rebuild",
    "floor_key",
    "home_page",
    "install",
    "lock_key",
    "memory_usage",
    "page",
    "push",
    "remove",
    "request_key",
]  # fmt: skip
