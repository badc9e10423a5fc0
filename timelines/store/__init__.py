"""The home-feed store: the only code that touches feed keys in Redis (a package: `keys` names them,
`scripts` holds the Lua, `feeds` writes and reads feeds and author lists, `home` is the home page's
read: one round trip per server involved).

A feed is ONE capped sorted set of tweet ids (member and score are both the id, which sorts by
time) that also holds its *floor*, as the score of the member "f" (keys.FLOOR_MEMBER):

    tl:{<user>}    sorted set of tweet ids: TIMELINE_LENGTH of them, up to TIMELINE_TRIM_SLACK more,
                   and "f" scored F, the floor: the feed holds EVERY timeline tweet with id > F
                   (0: all of them)
    tlb:{<user>}   while a rebuild runs (the feed is dropped then): tweets pushed meanwhile,
                   merged in when it finishes
    tlr:{<user>}   rebuild lock (one rebuild per user at a time)
    tlq:{<user>}   a rebuild was asked for recently (readers queue one, not one per page view)

An *author list* has the same shape and rules, for one account's own tweets: it exists for
accounts in pull mode (celebrities), whose tweets are not fanned out, so that readers merge them
from Redis instead of from Postgres:

    at:{<author>}, atb:{<author>}, atr:{<author>}, atq:{<author>}

The floor is what makes feeds safe to trim and to read past: a reader takes ids above the floor
from Redis and continues in Postgres at or below it, with no gap and no duplicate. Trimming keeps
the newest ids and raises the floor to the highest id it removed; pushes below the floor are
ignored (Postgres serves that region). A feed "exists" exactly when its floor member exists (so
exactly when its sorted set does: the floor member is never trimmed), so an empty feed is still a
feed, and fan-out never creates a partial feed for someone without one. (Keeping the floor inside
the set makes a push one read and one write per follower: see timelines.store.scripts.)

Keys carry the user id in a {hash tag}: all of one user's keys live in one Redis Cluster slot, on
one feed server. Home feeds may be spread over several servers or a cluster (tweethub.redis.
FeedShards): a push groups its followers per server and calls each server once, concurrently, with
user ids rather than key names (a cluster node runs it with allow-cross-slot-keys, over its own
keys only). Author lists stay on the feeds server, beside the tweet cards. Feeds expire FEED_TTL after their last
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
from timelines.store.keys import FLOOR_MEMBER, Kind, buffer_key, feed_key, feed_ttl_ms, lock_key, request_key

__all__ = [
    "FLOOR_MEMBER",
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
    "home_page",
    "install",
    "lock_key",
    "memory_usage",
    "page",
    "push",
    "remove",
    "request_key",
]  # fmt: skip
