"""The username rule, a project-wide primitive: accounts validates it, and the URL patterns, the
mention parser, the message and mail pages all recognise a username by it. It lives here, below
every app, so none of them imports accounts for a regular expression."""

from __future__ import annotations

import re

USERNAME_MAX_LENGTH = 15
# The body of the rule, for patterns that embed a username (URLs, @mentions).
USERNAME_REGEX = f"[A-Za-z0-9_]{{1,{USERNAME_MAX_LENGTH}}}"
USERNAME_PATTERN = re.compile(f"^{USERNAME_REGEX}$")
