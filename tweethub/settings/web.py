"""Static and media files, the page header cache, mail, and language and time zone."""

from __future__ import annotations

import warnings
from pathlib import Path

from tweethub.env import env_bool, env_int, env_str
from tweethub.settings.core import BASE_DIR

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
