"""TweetHub settings: one module for every environment, configured by environment variables.

Production is this same module with DEBUG off and real secrets in the environment (see
.env.example and docker-compose.yml); there is deliberately no settings_prod.py to drift apart.
Every tunable is a named setting with a comment saying what it changes.
"""

from __future__ import annotations

import ipaddress
import warnings
from pathlib import Path
from typing import Any

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from tweethub.dbpool import PooledConnection, shorten_waits_while_unreachable
from tweethub.env import (
    celery_broker_url,
    env_bool,
    env_float,
    env_int,
    env_list,
    env_optional,
    env_str,
    secret_key_problem,
)

BASE_DIR = Path(__file__).resolve().parent.parent

# --- Core -----------------------------------------------------------------------------------------

DEBUG = env_bool("DEBUG", default=False)
# Demo mode: the site is a public showcase (captured mail visible to its own browser session,
# explanatory admin pages open to visitors, nightly purge of user data, the demo login shown on the
# landing and login pages). Off unless asked for, never inferred from DEBUG: `make run` and the test
# run set DEMO_MODE=1.
DEMO_MODE = env_bool("DEMO_MODE", default=False)
# `make run` fills an empty site with demo people, tweets and a shared demo login (seed_demo).
DEMO_SEED = env_bool("DEMO_SEED", default=DEMO_MODE)

_secret_key = env_optional("SECRET_KEY")
if _secret_key is None:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off")
    _secret_key = "django-insecure-development-only-key-never-use-in-production"  # noqa: S105
elif not DEBUG and (_weakness := secret_key_problem(_secret_key)) is not None:
    # It signs sessions, password reset links and CSRF tokens: a guessable one forges them all.
    raise ImproperlyConfigured(
        f"SECRET_KEY {_weakness}: with DEBUG off it must be a long random secret. Make one with: "
        "python3 -c 'import secrets; print(secrets.token_urlsafe(50))'"
    )
SECRET_KEY = _secret_key

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", default=[])
# Reverse proxies (IP addresses or networks, comma-separated) whose X-Forwarded-For/-Proto we believe;
# none by default, so no client can choose the address the rate limits see (issue 17, item 4).
# uvicorn gets the same list (--forwarded-allow-ips, Procfile and Dockerfile); see tweethub.http.
TRUSTED_PROXIES = env_list("TRUSTED_PROXIES", default=[])
for _proxy in TRUSTED_PROXIES:
    try:
        ipaddress.ip_network(_proxy)  # strict, as uvicorn parses it: 10.0.0.1/8 is a typo, not a network
    except ValueError:
        raise ImproperlyConfigured(
            f"TRUSTED_PROXIES: {_proxy!r} is not an IP address or network (such as 10.0.0.5 or 10.0.0.0/24); "
            "'*' is refused: trusting every client lets anyone choose the address the rate limits see"
        ) from None

INSTALLED_APPS = [
    # Above django.contrib.auth: the first app with a management command wins, and accounts'
    # createsuperuser makes a verified account with a display name (accounts/management).
    "accounts",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "django.forms",  # lets our templates/django/forms/ override Django's form templates
    "follows",
    "tweets",
    "timelines",
    "messaging",
    "mailcatcher",
    "adminpanel",
    "moderation",
    "tweethub",  # the task outbox (tweethub.models)
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "tweethub.middleware.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Below WhiteNoise (static files keep its precompressed copies), above everything that writes a
    # body, so it compresses what they produce. Websockets never pass through middleware.
    "tweethub.compression.TextGZipMiddleware",
    # The site's own error pages with DEBUG on too. Above the sessions and users, so their failures
    # (Postgres down) get the 503 page; below compression and the policy, so its pages get both.
    "tweethub.middleware.ErrorPagesMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "accounts.middleware.CachedUserAuthenticationMiddleware",  # Django's, with the user row from Redis
    "accounts.middleware.LastActiveMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "tweethub.middleware.RateLimitedMiddleware",
]

ROOT_URLCONF = "tweethub.urls"
FORM_RENDERER = "django.forms.renderers.TemplatesSetting"
ASGI_APPLICATION = "tweethub.asgi.application"
AUTH_USER_MODEL = "accounts.User"
# Log in with the username or the email address, both matched case-insensitively.
AUTHENTICATION_BACKENDS = ["accounts.backends.UsernameOrEmailBackend"]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "landing"
LOGOUT_REDIRECT_URL = "landing"
AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator",
        "OPTIONS": {"user_attributes": ("username", "name", "email")},
    },
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Test runs only (`make test` sets it): hash passwords with a fast, insecure hasher so that tests
# creating hundreds of users do not spend minutes in PBKDF2. Never set in production.
if env_bool("INSECURE_FAST_PASSWORD_HASHING", default=False):
    PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.MD5PasswordHasher",
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    ]

# --- Accounts ----------------------------------------------------------------------------------

# Days a sign-up verification link stays valid.
VERIFY_EMAIL_MAX_AGE_DAYS = env_int("VERIFY_EMAIL_MAX_AGE_DAYS", default=3, minimum=1)
# Seconds between two recordings of a user's activity; requests in between record nothing.
LAST_ACTIVE_RESOLUTION_SECONDS = env_int("LAST_ACTIVE_RESOLUTION_SECONDS", default=300, minimum=1)
# Seconds between beat's writes of the activity queued in Redis to last_active (one UPDATE each).
# last_active lags by up to this plus the resolution; "active" for the fan-out is ACTIVE_DAYS.
LAST_ACTIVE_FLUSH_SECONDS = env_int("LAST_ACTIVE_FLUSH_SECONDS", default=60, minimum=1)
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

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "tweethub.context_processors.site",
            ],
        },
    },
]

# --- Postgres: the single source of truth ---------------------------------------------------------

# Most connections each process's psycopg pool opens (web and workers alike; opened on demand, so a
# Celery child uses one or two). A web process runs each in-flight request's sync code in its own
# thread and a request keeps its connection until it ends, so this bounds how many requests per
# process can be inside the database at once; the rest wait up to DB_POOL_TIMEOUT_SECONDS, then get
# a 503 with Retry-After. Postgres's max_connections must exceed processes x this (devstack: 300 for
# ~10 processes x 20). Persistent connections are not safe under ASGI, a pool is; CONN_MAX_AGE stays 0.
DB_POOL_MAX_SIZE = env_int("DB_POOL_MAX_SIZE", default=20, minimum=1)
# Connections each process keeps open when idle, so a quiet process answers without connecting.
DB_POOL_MIN_SIZE = env_int("DB_POOL_MIN_SIZE", default=2, minimum=0)
# Seconds a request waits for a free connection before it gets a 503 (tweethub.views.server_error).
DB_POOL_TIMEOUT_SECONDS = env_float("DB_POOL_TIMEOUT_SECONDS", default=5.0)
# Seconds a request waits for a connection instead, while Postgres refuses new ones (it is down):
# the 503 page comes this fast, and each request tries to reconnect (tweethub.dbpool).
DB_DOWN_TIMEOUT_SECONDS = env_float("DB_DOWN_TIMEOUT_SECONDS", default=1.0)
# Give up on a statement after this many milliseconds, so a stuck query cannot pin a worker.
DB_STATEMENT_TIMEOUT_MS = env_int("DB_STATEMENT_TIMEOUT_MS", default=30_000, minimum=0)

_database: dict[str, Any] = dict(
    dj_database_url.parse(env_str("DATABASE_URL", "postgres://postgres@localhost:5432/tweethub"))
)
_database["CONN_MAX_AGE"] = 0
# The pool checks an idle connection (an empty query) before handing it out: after a Postgres
# restart, a dead one is replaced instead of failing the request it would have served.
_database["CONN_HEALTH_CHECKS"] = True
_database["OPTIONS"] = {
    **_database.get("OPTIONS", {}),
    # A dead Postgres must fail a request in seconds (503), not hold it until a proxy gives up.
    "pool": {
        "min_size": min(DB_POOL_MIN_SIZE, DB_POOL_MAX_SIZE),
        "max_size": DB_POOL_MAX_SIZE,
        "timeout": DB_POOL_TIMEOUT_SECONDS,
        # Restart and outage handling: drain on a dead connection, give up a failed connection at
        # once and shorten the wait to DB_DOWN_TIMEOUT_SECONDS until one is made (tweethub.dbpool).
        "connection_class": PooledConnection,
        "reconnect_timeout": 0.0,
        "reconnect_failed": shorten_waits_while_unreachable(DB_DOWN_TIMEOUT_SECONDS),
    },
    "connect_timeout": 3,
    "options": f"-c statement_timeout={DB_STATEMENT_TIMEOUT_MS}",
}
DATABASES = {"default": _database}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: rebuildable state only (feeds, counters, cache, broker, channel layer) ---------------

# Each role has its own URL so production can split them over separate Redis servers; all default
# to REDIS_URL. A role's data may be lost at any time without losing user data.
REDIS_URL = env_str("REDIS_URL", "redis://127.0.0.1:6379/0")
FEEDS_REDIS_URL = env_str("FEEDS_REDIS_URL", REDIS_URL)
CACHE_REDIS_URL = env_str("CACHE_REDIS_URL", REDIS_URL)
CHANNELS_REDIS_URL = env_str("CHANNELS_REDIS_URL", REDIS_URL)
CELERY_BROKER_URL = celery_broker_url(env_str("CELERY_BROKER_URL", REDIS_URL))
# Seconds a Redis call may take before it counts as a failure (health checks, feed reads fall
# back to Postgres instead of hanging).
REDIS_SOCKET_TIMEOUT = env_float("REDIS_SOCKET_TIMEOUT", default=2.0)

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": CACHE_REDIS_URL,
        "KEY_PREFIX": "cache",
        "OPTIONS": {
            "socket_timeout": REDIS_SOCKET_TIMEOUT,
            "socket_connect_timeout": REDIS_SOCKET_TIMEOUT,
        },
    }
}

# Sessions are read on every request: served from a copy in the cache Redis (read in one round trip
# with the user's cached row, accounts.authcache), kept in Postgres, so flushing Redis logs nobody
# out, and with Redis down they are served from Postgres.
SESSION_ENGINE = "accounts.sessions"

# Live events go through channels-redis (tweethub.channel_layer): each web process has one inbox
# (a sorted set) that all its sockets share, and an event is one message per process holding a
# recipient. LIVE_INBOX_CAPACITY: messages a process's inbox holds before senders find it full (a
# burst of events while the process is busy; a send to a full inbox records the channels it missed,
# told to catch up at the next sweep). LIVE_SOCKET_BUFFER: messages kept per socket inside the process
# while the socket is slow to take them (channels-redis drops the oldest past it). LIVE_MESSAGE_EXPIRY:
# seconds a message waits in an inbox before it is dropped (a process that long behind is stuck).
LIVE_INBOX_CAPACITY = env_int("LIVE_INBOX_CAPACITY", default=10_000, minimum=1)
LIVE_SOCKET_BUFFER = env_int("LIVE_SOCKET_BUFFER", default=1_000, minimum=1)
LIVE_MESSAGE_EXPIRY = env_int("LIVE_MESSAGE_EXPIRY", default=60, minimum=1)
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "tweethub.channel_layer.RoutedRedisChannelLayer",
        "CONFIG": {
            "hosts": [CHANNELS_REDIS_URL],
            "prefix": "live:",
            "capacity": LIVE_SOCKET_BUFFER,
            "channel_capacity": {"specific.*": LIVE_INBOX_CAPACITY},
            "expiry": LIVE_MESSAGE_EXPIRY,
        },
    }
}
# Seconds between each web process's sweep of its websockets: sessions re-checked (an expired one's
# sockets close within this) and presence checked, written back after Redis lost it. One Redis round
# trip per process, plus one per 500 open sockets.
LIVE_SWEEP_SECONDS = max(1.0, env_float("LIVE_SWEEP_SECONDS", default=15.0))

# --- Celery -------------------------------------------------------------------------------------

CELERY_TASK_ACKS_LATE = True  # a task is acknowledged after it ran: a killed worker's task reruns
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1  # long fan-outs must not sit behind another in one prefetch
CELERY_TASK_IGNORE_RESULT = True  # tasks write their outcome to Postgres; no result backend
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Publishing a task gives up after ~0.5 s when the broker is down: the request that committed
# the change must not hang on it, and the outbox (tweethub.outbox) sends the task later anyway.
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.3}
CELERY_BROKER_TRANSPORT_OPTIONS = {
    # Seconds before an unacknowledged task goes to another worker (must exceed the longest task).
    # Production must keep it above the longest task (a large fan-out), or a task still running is
    # handed to a second worker. The minimum is low only so the fault tests (tests/faults) can see a
    # killed worker's task come back within a test run.
    "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", default=3600, minimum=5),
    "socket_timeout": REDIS_SOCKET_TIMEOUT,
    "socket_connect_timeout": REDIS_SOCKET_TIMEOUT,
}
CELERY_TIMEZONE = "UTC"
# Seconds between worker heartbeats written to Postgres (the admin panel's "workers online").
WORKER_HEARTBEAT_SECONDS = env_int("WORKER_HEARTBEAT_SECONDS", default=30, minimum=1)
# Seconds between sweeps that drop the Redis feeds of users who became inactive.
FEED_SWEEP_SECONDS = env_int("FEED_SWEEP_SECONDS", default=3600, minimum=10)
# Seconds between runs of the outbox relay (tweethub.outbox), which sends the tasks the broker
# refused when their change committed. Bounds how long after the broker's return their work starts.
OUTBOX_RELAY_SECONDS = env_int("OUTBOX_RELAY_SECONDS", default=10, minimum=1)
# Outbox rows younger than this are left to their own after-commit send, not doubled by the relay.
OUTBOX_GRACE_SECONDS = env_int("OUTBOX_GRACE_SECONDS", default=10, minimum=0)
# Seconds between full rebuilds of the Redis GEO index from Postgres (beat). A lost index is rebuilt
# on the next read anyway; this bounds how long a write Redis missed can stay out of it.
GEO_REBUILD_SECONDS = env_int("GEO_REBUILD_SECONDS", default=3600, minimum=60)
# When the nightly demo purge runs (UTC, "HH:MM"); it is scheduled only with DEMO_MODE on.
PURGE_DEMO_AT = env_str("PURGE_DEMO_AT", "03:30")
CELERY_BEAT_SCHEDULE: dict[str, dict[str, Any]] = {
    "worker-heartbeat": {
        "task": "adminpanel.tasks.heartbeat_task",
        "schedule": float(WORKER_HEARTBEAT_SECONDS),
    },
    "drop-inactive-feeds": {
        "task": "timelines.tasks.drop_inactive_feeds_task",
        "schedule": float(FEED_SWEEP_SECONDS),
    },
    "outbox-relay": {
        "task": "tweethub.tasks.outbox_relay_task",
        "schedule": float(OUTBOX_RELAY_SECONDS),
        # A relay that waited in the queue longer than a period is superseded by the next one.
        "options": {"expires": float(OUTBOX_RELAY_SECONDS)},
    },
    "flush-last-active": {
        "task": "accounts.tasks.last_active_flush_task",
        "schedule": float(LAST_ACTIVE_FLUSH_SECONDS),
        "options": {"expires": float(LAST_ACTIVE_FLUSH_SECONDS)},
    },
    "rebuild-geo-index": {
        "task": "accounts.tasks.geo_index_rebuild_task",
        "schedule": float(GEO_REBUILD_SECONDS),
    },
}
if DEMO_MODE:
    from celery.schedules import crontab

    _purge_hour, _purge_minute = (int(part) for part in PURGE_DEMO_AT.split(":"))
    CELERY_BEAT_SCHEDULE["purge-demo-data"] = {
        "task": "adminpanel.tasks.purge_demo_data_task",
        "schedule": crontab(hour=_purge_hour, minute=_purge_minute),
    }

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
# Redis's compact listpack encoding (~20 bytes an entry); past it, a skiplist costs ~4x more
# (measured: 96 ids = 2,008 B with the floor key, 128 = 2,648 B, 129 = 10.8 KB). Older pages are
# read from Postgres, seamlessly, so this bounds memory, not how far anyone can scroll.
TIMELINE_LENGTH = env_int("TIMELINE_LENGTH", default=80, minimum=1)
# Ids a feed may gain past TIMELINE_LENGTH before a push trims it back: most pushes then skip the
# trim (a third of their Redis time). 80 + 16 keeps every feed at or under 96 ids, ~2,008 B.
TIMELINE_TRIM_SLACK = env_int("TIMELINE_TRIM_SLACK", default=16, minimum=0)
# Tweets per page of the home timeline and other tweet lists.
TIMELINE_PAGE_SIZE = env_int("TIMELINE_PAGE_SIZE", default=20, minimum=1)
# Followers loaded and written per fan-out step: one SQL page and one Redis round trip each.
FANOUT_BATCH_SIZE = env_int("FANOUT_BATCH_SIZE", default=1000, minimum=1)
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

# --- HTTP, static files, mail --------------------------------------------------------------------

STATIC_URL = "/static/"
_manifest = env_bool("STATIC_MANIFEST", default=False)
# Only images that run collectstatic have a STATIC_ROOT; elsewhere files come from the sources.
STATIC_ROOT = BASE_DIR / "staticfiles" if _manifest else None
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(BASE_DIR / "media")))
# Production images run collectstatic at build time and serve hashed, compressed files; elsewhere
# files are served straight from the source folders.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if _manifest
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = not _manifest
# whitenoise hands Django a synchronous file iterator, which Django's ASGI handler buffers (with
# this warning) before sending. Our static files are a few KB each, so buffering costs nothing.
warnings.filterwarnings("ignore", message="StreamingHttpResponse must consume synchronous iterators", category=Warning)

# Page headers (one per user, nav item and role) each web process keeps rendered, ~3 KB each;
# 0 renders every header afresh (tweethub.templatetags.chrome).
PAGE_CHROME_CACHE_SIZE = env_int("PAGE_CHROME_CACHE_SIZE", default=1024, minimum=0)

DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "TweetHub <no-reply@tweethub.local>")
# Every outgoing mail is stored in Postgres by the mailcatcher backend, inside the sender's
# transaction (so a rolled-back sign-up leaves no mail, and a committed one always has its mail).
EMAIL_BACKEND = "mailcatcher.backends.CapturingEmailBackend"
# Where captured mail is really delivered after commit: empty = nowhere (the demo default; mail is
# only shown in /admin/mails/), or a Django backend path such as
# django.core.mail.backends.smtp.EmailBackend for production (with EMAIL_HOST etc. below).
MAIL_DELIVERY_BACKEND = env_str("MAIL_DELIVERY_BACKEND", "")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", default=25, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", default=False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", default=10, minimum=1)

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# Behind a TLS-terminating proxy (docker-compose's deployment) turn on the HTTPS-only settings.
HTTPS = env_bool("HTTPS", default=False)
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_SSL_REDIRECT = HTTPS and env_bool("SECURE_SSL_REDIRECT", default=True)
SECURE_HSTS_SECONDS = 31_536_000 if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
# Asking browsers to hard-code HTTPS for the domain is the domain owner's call, slow to undo and
# covering every subdomain: opt in with HSTS_PRELOAD=1 (W021 is silenced below for that reason).
SECURE_HSTS_PRELOAD = HTTPS and env_bool("HSTS_PRELOAD", default=False)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if HTTPS else None
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CONTENT_TYPE_NOSNIFF = True
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
# Sent with every response (tweethub.middleware): scripts, styles and connections only from this
# origin, so no inline script, event handler or style attribute runs ('self' also covers ws(s):// to
# this host in CSP3 browsers: Chrome 71+, Firefox, Safari 16+). A view may send a policy of its own.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
# `check --deploy` warnings that are decisions, not oversights: HSTS preload is the operator's opt-in
# (above); with HTTPS=1 SECURE_SSL_REDIRECT=0 the operator says the TLS proxy redirects to https.
SILENCED_SYSTEM_CHECKS = ["security.W021"]
if HTTPS and not SECURE_SSL_REDIRECT:
    SILENCED_SYSTEM_CHECKS.append("security.W008")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}
