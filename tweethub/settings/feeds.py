"""Tweets, timelines and discovery: lengths, page sizes, the fan-out and its celebrity threshold,
cache lifetimes, trends, and the limits of the two-hop and "nearby" lists."""

from __future__ import annotations

from tweethub.env import env_float, env_int, env_str

# --- Tweets and timelines -------------------------------------------------------------------------

# Longest tweet, in characters after trimming surrounding whitespace.
TWEET_MAX_LENGTH = env_int("TWEET_MAX_LENGTH", default=280, minimum=1)
# Tweets a user may post per window (a sliding window, like the other rate limits).
RATE_LIMIT_TWEETS_PER_USER = env_str("RATE_LIMIT_TWEETS_PER_USER", "60/1h")
# Reports (of a tweet, profile or message) a user may send per window (moderation.services).
RATE_LIMIT_REPORTS_PER_USER = env_str("RATE_LIMIT_REPORTS_PER_USER", "20/1h")
# Follows and unfollows together a user may make per window (follows.services).
RATE_LIMIT_FOLLOWS_PER_USER = env_str("RATE_LIMIT_FOLLOWS_PER_USER", "400/1h")
# Tweet ids kept per home feed in Redis after a trim. Up to 128 entries a sorted set stays in
# Redis's compact listpack encoding (~20 bytes an entry; the floor member is one of them); past it,
# a skiplist costs ~4x more (measured: 96 ids + floor = 1,984 B, 127 + floor = 2,608 B, 128 + floor
# = 10.8 KB). Older pages are read from Postgres, seamlessly, so this bounds memory, not how far
# anyone can scroll.
TIMELINE_LENGTH = env_int("TIMELINE_LENGTH", default=80, minimum=1)
# Ids a feed may gain past TIMELINE_LENGTH before a push trims it back: most pushes then skip the
# trim (its three calls). 80 + 16 keeps every feed at or under 96 ids and its floor, ~1,984 B.
TIMELINE_TRIM_SLACK = env_int("TIMELINE_TRIM_SLACK", default=16, minimum=0)
# Tweets per page of the home timeline and other tweet lists.
TIMELINE_PAGE_SIZE = env_int("TIMELINE_PAGE_SIZE", default=20, minimum=1)
# Followers loaded and written per fan-out step: one SQL page and one Redis round trip each.
FANOUT_BATCH_SIZE = env_int("FANOUT_BATCH_SIZE", default=1000, minimum=1)
# Above this many followers a fan-out goes to the `fanout_large` queue and is split into chunks of
# FANOUT_CHUNK_SIZE followers (follower-id ranges) that workers run side by side: a big audience
# never holds up the small fan-outs of the `fanout` queue, and finishes sooner on several cores.
FANOUT_LARGE_THRESHOLD = env_int("FANOUT_LARGE_THRESHOLD", default=5_000, minimum=1)
FANOUT_CHUNK_SIZE = env_int("FANOUT_CHUNK_SIZE", default=5_000, minimum=1)
# Users seen within this many days get fan-out; others' feeds are dropped and rebuilt on return.
ACTIVE_DAYS = env_int("ACTIVE_DAYS", default=7, minimum=1)
# Accounts with more followers than this are not fanned out; readers merge their tweets at read
# time instead (one write per tweet instead of one per follower).
CELEBRITY_THRESHOLD = env_int("CELEBRITY_THRESHOLD", default=10_000, minimum=1)
# Back to fan-out only below this share of the threshold, so an account hovering around it does
# not flip (and backfill every follower's feed) on each follow and unfollow.
CELEBRITY_HYSTERESIS = env_float("CELEBRITY_HYSTERESIS", default=0.9)

# Seconds a tweet card (row and rendered HTML, tweets.cards) stays in Redis after it was written.
# Tweets are mostly read in their first hours; a later reader pays one query for the cards missing.
CARD_CACHE_SECONDS = env_int("CARD_CACHE_SECONDS", default=2 * 86_400, minimum=60)
# Seconds an author card (name, avatar, pinned tweet: accounts.cards) stays in Redis. Services drop
# it when the profile changes; this bounds how long a change made elsewhere (a shell) can go unseen.
AUTHOR_CARD_SECONDS = env_int("AUTHOR_CARD_SECONDS", default=3600, minimum=10)
# Seconds a reader's set of followed pull-mode accounts (follows.feedstate) is trusted. Mode changes
# and the reader's follows reset it at once; this bounds the damage of a reset that Redis refused.
PULL_SET_SECONDS = env_int("PULL_SET_SECONDS", default=900, minimum=10)
# Seconds an unfollow keeps the account's ids off the reader's page after the cleanup task ran: a
# fan-out batch that read the followers before the unfollow may still write after the cleanup.
UNFOLLOW_GRACE_SECONDS = env_int("UNFOLLOW_GRACE_SECONDS", default=3600, minimum=1)

# Trending tags: a use counts half as much every this many hours (within the last 24 hours).
TREND_HALF_LIFE_HOURS = env_float("TREND_HALF_LIFE_HOURS", default=6.0)
# Seconds each web process reuses the trending sidebar's HTML: a warm page makes no Redis round trip
# for it, and a new trend shows this much later (on top of the ranking's minute in Redis).
TRENDS_SIDEBAR_SECONDS = env_int("TRENDS_SIDEBAR_SECONDS", default=15, minimum=0)

# --- Discovery: people nearby and people you may know ---------------------------------------------

# People shown on /discover/nearby/ (the closest who share a position).
NEARBY_RESULTS = env_int("NEARBY_RESULTS", default=12, minimum=1)
# Times a user may share or move their position per window: each move is a fresh look at everyone's
# distance, so this (with the ~1 km grid) bounds how precisely anyone can be triangulated.
RATE_LIMIT_LOCATION_PER_USER = env_str("RATE_LIMIT_LOCATION_PER_USER", "20/1h")
# "People you may know" shown on /discover/.
DISCOVER_SUGGESTIONS = env_int("DISCOVER_SUGGESTIONS", default=10, minimum=1)
# Two-hop lists (suggestions, friends of friends, followers of followers) start from at most this
# many of your newest connections, and take at most DISCOVER_HOP_LIMIT of the newest connections
# of each: a page then reads at most 500 x 200 follow rows, however connected the account is.
# Below both limits the lists are exact (the tests' oracle checks both regimes).
DISCOVER_FRONTIER_LIMIT = env_int("DISCOVER_FRONTIER_LIMIT", default=500, minimum=1)
DISCOVER_HOP_LIMIT = env_int("DISCOVER_HOP_LIMIT", default=200, minimum=1)
