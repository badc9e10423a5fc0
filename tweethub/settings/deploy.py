"""Deployment: HTTPS behind a TLS-terminating proxy, the security headers, the `check --deploy`
warnings silenced on purpose, and logging."""

from __future__ import annotations

from tweethub.env import env_bool, env_str

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
SILENCED_SYSTEM_CHECKS = [
    "security.W021",
    # Usernames are unique case-insensitively (the accounts_user_username_ci_unique constraint) and
    # the one backend looks them up that way; the plain unique index the check asks for would be a
    # redundant third index on the column (accounts migration 0008).
    "auth.W004",
]
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
