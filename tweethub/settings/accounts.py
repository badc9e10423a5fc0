"""Accounts: verification, activity, the user cache, avatars, and the rate limits of logins,
sign-ups and profile changes."""

from __future__ import annotations

from tweethub.env import env_float, env_int, env_str

# --- Accounts ----------------------------------------------------------------------------------

# Days a sign-up verification link stays valid.
VERIFY_EMAIL_MAX_AGE_DAYS = env_int("VERIFY_EMAIL_MAX_AGE_DAYS", default=3, minimum=1)
# Seconds between two recordings of a user's activity; requests in between record nothing.
LAST_ACTIVE_RESOLUTION_SECONDS = env_int("LAST_ACTIVE_RESOLUTION_SECONDS", default=300, minimum=1)
# Seconds between beat's writes of the activity queued in Redis to last_active (one UPDATE each).
# last_active lags by up to this plus the resolution; "active" for the fan-out is ACTIVE_DAYS.
LAST_ACTIVE_FLUSH_SECONDS = env_int("LAST_ACTIVE_FLUSH_SECONDS", default=60, minimum=1)
# Rows per account that follower-count changes are spread over (accounts.models.FollowerShard):
# up to this many concurrent follows of one account proceed without waiting on each other's row
# lock. Reading a count sums up to this many rows; changing it is safe at any time.
FOLLOWER_COUNT_SHARDS = env_int("FOLLOWER_COUNT_SHARDS", default=16, minimum=1)
# Seconds between beat's folds of the shards into UserStats.followers. Counts are exact at any
# time (readers add the shards); this bounds the lag of the lists that rank by the folded count
# ("who to follow") and how many shard rows a count read sums.
FOLLOWER_COUNT_FOLD_SECONDS = env_int("FOLLOWER_COUNT_FOLD_SECONDS", default=10, minimum=1)
# Accounts folded per statement (each its own short transaction).
FOLLOWER_COUNT_FOLD_BATCH = env_int("FOLLOWER_COUNT_FOLD_BATCH", default=1000, minimum=1)
# Seconds a user's cached row (accounts.authcache) lives. Services invalidate it on every change;
# this bounds how long a change made outside them (a shell, SQL) goes unseen by sessions.
AUTH_USER_CACHE_SECONDS = env_int("AUTH_USER_CACHE_SECONDS", default=300, minimum=1)
# Largest avatar upload accepted, in bytes, and the largest image (in pixels) we agree to decode:
# a small file can still declare a huge canvas (a decompression bomb), and decoding costs memory in
# proportion to the canvas. 16 Mpx takes 12 Mpx phone photos and 5K screenshots.
AVATAR_MAX_BYTES = env_int("AVATAR_MAX_BYTES", default=2 * 1024 * 1024, minimum=1024)
AVATAR_MAX_PIXELS = env_int("AVATAR_MAX_PIXELS", default=16_000_000, minimum=1)
# Avatar uploads each web process decodes at once; others wait up to AVATAR_DECODE_WAIT_SECONDS,
# then are refused with "try again". Peak memory per process is about this many worst-case decodes.
AVATAR_DECODE_CONCURRENCY = env_int("AVATAR_DECODE_CONCURRENCY", default=1, minimum=1)
AVATAR_DECODE_WAIT_SECONDS = max(0.0, env_float("AVATAR_DECODE_WAIT_SECONDS", default=10.0))
# Side of the square avatar we store (re-encoded as WebP).
AVATAR_SIZE = env_int("AVATAR_SIZE", default=400, minimum=32)

# Rate limits, "<count>/<period>" with period in s, m, h or d (a sliding window). Over the limit the
# request gets HTTP 429 with a readable page and changes nothing.
# Logins count failures only (accounts.services.credentials_check). Failed logins from one address:
RATE_LIMIT_LOGIN_PER_IP = env_str("RATE_LIMIT_LOGIN_PER_IP", "30/10m")
# ...at one account from one address: then 429 for that address only (others, the owner's, unaffected).
RATE_LIMIT_LOGIN_PER_ACCOUNT = env_str("RATE_LIMIT_LOGIN_PER_ACCOUNT", "10/10m")
# ...at one account from all addresses together; over it the account is slowed down, not locked:
RATE_LIMIT_LOGIN_ACCOUNT_CEILING = env_str("RATE_LIMIT_LOGIN_ACCOUNT_CEILING", "50/1h")
# ...each address that has not logged into it before then gets this many failures (known ones: as usual).
RATE_LIMIT_LOGIN_PER_ACCOUNT_SLOWED = env_str("RATE_LIMIT_LOGIN_PER_ACCOUNT_SLOWED", "3/1h")
# Days an address that logged into an account stays known to it (exempt from the slow-down above).
LOGIN_KNOWN_ADDRESS_DAYS = env_int("LOGIN_KNOWN_ADDRESS_DAYS", default=30, minimum=1)
RATE_LIMIT_SIGNUP_PER_IP = env_str("RATE_LIMIT_SIGNUP_PER_IP", "10/1h")  # new accounts, per IP
RATE_LIMIT_VERIFY_RESEND_PER_USER = env_str("RATE_LIMIT_VERIFY_RESEND_PER_USER", "3/1h")
RATE_LIMIT_PASSWORD_RESET_PER_IP = env_str("RATE_LIMIT_PASSWORD_RESET_PER_IP", "10/1h")
# Profile saves per user (each may carry an avatar to decode), refused ones included.
RATE_LIMIT_PROFILE_PER_USER = env_str("RATE_LIMIT_PROFILE_PER_USER", "30/1h")
