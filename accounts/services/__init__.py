"""Every write to accounts, one module per domain: sign-up and verification (signup), login
attempts (login), password reset (password_reset), profile edits (profile), the shared position
(location), last_active (activity), exact counters, their follower shards and the fan-out mode (stats), deletion
(deletion), and the guards they share (common).

Services take plain values (never a request), authorise and rate-limit, write inside
`transaction.atomic`, and leave HTTP concerns (sessions, redirects) to the views. Callers import
from here (`from accounts.services import profile_update`): the split is this package's business.
"""

from __future__ import annotations

from accounts.services.activity import last_active_flush, user_touch_last_active
from accounts.services.common import (
    AccountSuspended,
    InvalidVerificationLink,
    NotVerified,
    refuse_nul,
    require_verified,
)
from accounts.services.deletion import user_delete
from accounts.services.location import (
    LOCATION_DECIMALS,
    MAX_SHARED_LATITUDE,
    geo_index_rebuild,
    geo_write,
    location_share,
    location_stop,
)
from accounts.services.login import credentials_check
from accounts.services.password_reset import password_reset_mail_send, password_reset_request
from accounts.services.profile import profile_update
from accounts.services.signup import (
    SIGNUP_SALT,
    VERIFY_SALT,
    SignUpDetails,
    signup_details,
    signup_mail_send,
    signup_request,
    signup_token,
    user_sign_up,
    user_verify_email,
    verification_mail_resend,
    verification_token,
)
from accounts.services.stats import (
    fanout_mode_after_follower_change,
    fanout_mode_begin_restore,
    fanout_mode_finish_demotion,
    follower_shard,
    follower_shards_fold,
    followers_adjust,
    stats_adjust,
)

__all__ = [
    "LOCATION_DECIMALS",
    "MAX_SHARED_LATITUDE",
    "SIGNUP_SALT",
    "VERIFY_SALT",
    "AccountSuspended",
    "InvalidVerificationLink",
    "NotVerified",
    "SignUpDetails",
    "credentials_check",
    "fanout_mode_after_follower_change",
    "fanout_mode_begin_restore",
    "fanout_mode_finish_demotion",
    "follower_shard",
    "follower_shards_fold",
    "followers_adjust",
    "geo_index_rebuild",
    "geo_write",
    "last_active_flush",
    "location_share",
    "location_stop",
    "password_reset_mail_send",
    "password_reset_request",
    "profile_update",
    "refuse_nul",
    "require_verified",
    "signup_details",
    "signup_mail_send",
    "signup_request",
    "signup_token",
    "stats_adjust",
    "user_delete",
    "user_sign_up",
    "user_touch_last_active",
    "user_verify_email",
    "verification_mail_resend",
    "verification_token",
]
