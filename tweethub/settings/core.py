"""Settings of the site itself: debug and demo switches, the secret key, hosts and proxies, the apps
and middleware, authentication, templates."""

from __future__ import annotations

import ipaddress
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from tweethub.env import env_bool, env_list, env_optional, secret_key_problem

BASE_DIR = Path(__file__).resolve().parent.parent.parent

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
    "notifications",
    "api",
    # django-ninja: its Swagger UI files (static/ninja/), served by us, not from a CDN.
    "ninja",
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
