"""The JSON API (api/): personal access tokens and their limits."""

from __future__ import annotations

from tweethub.env import env_int, env_str

# Tokens a user may hold at once; creating one more is refused until one is revoked.
API_TOKENS_PER_USER = env_int("API_TOKENS_PER_USER", default=20, minimum=1)
# Tokens a user may create per window (the settings page and POST /api/v1/tokens together).
RATE_LIMIT_API_TOKENS_PER_USER = env_str("RATE_LIMIT_API_TOKENS_PER_USER", "20/1h")
# Seconds a token stays cached in Redis (api.tokencache: its requests then need no SQL); also how
# often its last_used_at is written at most. A revocation takes effect at once either way.
API_TOKEN_CACHE_SECONDS = env_int("API_TOKEN_CACHE_SECONDS", default=600, minimum=1)
# A request with a wrong or revoked token counts as a failed login from its address
# (RATE_LIMIT_LOGIN_PER_IP, the same budget as the login form's), so neither doubles the other.
