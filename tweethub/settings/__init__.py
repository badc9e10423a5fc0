"""TweetHub settings: one package for every environment, configured by environment variables.

Production is this same package with DEBUG off and real secrets in the environment (see
.env.example and docker-compose.yml); there is deliberately no settings_prod.py to drift apart.
Every tunable is a named setting with a comment saying what it changes. By section:

- core: debug and demo switches, the secret key, hosts and proxies, apps, middleware, auth;
- accounts: verification, activity, avatars, and the login, sign-up and profile rate limits;
- backends: Postgres, Redis and Celery (with the beat schedule);
- feeds: tweets, timelines, trends and discovery;
- web: static and media files, mail, language and time zone;
- api: personal access tokens and the JSON API;
- deploy: HTTPS behind a proxy, the security headers, silenced deploy checks, logging.
"""

from __future__ import annotations

# In the order the sections always ran: each may read those above it, and with several settings
# wrong at once the first one is still the one reported.
# isort: off
from tweethub.settings.core import *  # noqa: F403
from tweethub.settings.accounts import *  # noqa: F403
from tweethub.settings.backends import *  # noqa: F403
from tweethub.settings.feeds import *  # noqa: F403
from tweethub.settings.web import *  # noqa: F403
from tweethub.settings.api import *  # noqa: F403
from tweethub.settings.deploy import *  # noqa: F403

# isort: on
