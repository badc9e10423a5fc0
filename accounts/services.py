"""Every write to accounts: sign-up, verification, login attempts, profile edits, last_active.

Services take plain values (never a request), authorise and rate-limit, write inside
`transaction.atomic`, and leave HTTP concerns (sessions, redirects) to the views.
"""

from __future__ import annotations

import contextlib
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import redis
from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.forms import PasswordResetForm
from django.contrib.auth.tokens import default_token_generator
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from accounts import authcache, geo
from accounts import cards as author_cards
from accounts.avatars import process_avatar
from accounts.models import FanoutMode, User, UserStats
from mailcatcher.access import GRANT_HEADER
from tweethub import outbox
from tweethub.ratelimit import hit, mark, marked, over, rate_setting, record, refund

VERIFY_SALT = "accounts.verify-email"
SIGNUP_SALT = "accounts.sign-up"

logger = logging.getLogger(__name__)


class NotVerified(PermissionDenied):
    """The action needs a verified email address."""

    def __init__(self) -> None:
        super().__init__("Please confirm your email address first.")


class AccountSuspended(PermissionDenied):
    """Right credentials for a suspended account (moderation): say so, instead of "no match"."""

    def __init__(self) -> None:
        super().__init__("This account is suspended. It cannot log in while the suspension lasts.")


class InvalidVerificationLink(Exception):
    def __init__(self, message: str, *, expired: bool = False) -> None:
        super().__init__(message)
        self.expired = expired


def require_verified(user: User) -> None:
    """Guard for tweeting, following and messaging: unverified users can read, not write; a
    suspended (inactive) account can do neither (it cannot log in either: this guards every other
    caller, a task or a session that outlived the suspension by a moment)."""
    if not user.is_active:
        raise PermissionDenied("This account is suspended.")
    if not user.is_verified:
        raise NotVerified()


# --- Sign-up and verification --------------------------------------------------------------------


def _refuse_nul(**texts: str) -> None:
    """Postgres text cannot hold NUL, so refuse it as bad input (the forms do too; this covers every
    other caller) instead of failing in the database."""
    bad = {
        field: "That text contains a character we cannot store (NUL)."
        for field, text in texts.items()
        if "\x00" in text
    }
    if bad:
        raise ValidationError(bad)


def verification_token(user: User) -> str:
    """A signed, expiring token naming the user and the address being confirmed.

    The address is part of it, so a link sent to an old address stops working after a change.
    """
    return signing.dumps({"u": user.pk, "e": user.email.lower()}, salt=VERIFY_SALT, compress=True)


def _send_verification_mail(*, user: User, base_url: str) -> None:
    link = base_url.rstrip("/") + reverse("accounts:verify", args=[verification_token(user)])
    context = {"user": user, "link": link, "days": settings.VERIFY_EMAIL_MAX_AGE_DAYS}
    mail = EmailMultiAlternatives(
        subject="Confirm your TweetHub email address",
        body=render_to_string("accounts/email/verify.txt", context),
        to=[user.email],
    )
    mail.attach_alternative(render_to_string("accounts/email/verify.html", context), "text/html")
    mail.send()


@dataclass(frozen=True)
class SignUpDetails:
    """What a sign-up asked for, carried by its mailed link until the password makes it an account."""

    name: str
    username: str
    email: str

    def as_user(self) -> User:
        """The account it would be, unsaved: for the field rules and the password validators."""
        return User(name=self.name, username=self.username, email=self.email)


def signup_token(details: SignUpDetails) -> str:
    """The signed, expiring token of the link that finishes a sign-up. It holds no password: the
    password is chosen from the link, so nothing in the mail is a credential until then."""
    payload = {"n": details.name, "u": details.username, "e": details.email}
    return signing.dumps(payload, salt=SIGNUP_SALT, compress=True)


def signup_details(*, token: str) -> SignUpDetails:
    """The sign-up a link stands for. Raises InvalidVerificationLink when the token is tampered
    with or older than VERIFY_EMAIL_MAX_AGE_DAYS."""
    try:
        data = signing.loads(token, salt=SIGNUP_SALT, max_age=timedelta(days=settings.VERIFY_EMAIL_MAX_AGE_DAYS))
    except signing.SignatureExpired:
        raise InvalidVerificationLink("This link has expired.", expired=True) from None
    except signing.BadSignature:
        raise InvalidVerificationLink("This link is not valid.") from None
    if not isinstance(data, dict) or not all(isinstance(data.get(key), str) for key in "nue"):
        raise InvalidVerificationLink("This link is not valid.")
    return SignUpDetails(name=data["n"], username=data["u"], email=data["e"])


def signup_request(*, name: str, username: str, email: str, ip: str, base_url: str, mail_grant: str = "") -> None:
    """Start a sign-up: queue the mail that lets whoever reads `email` finish it. Rate-limited per IP.

    Nothing is created, and nothing is read about the address: the request does the same work
    whether or not an account already uses it (one rate-limit hit, one outbox row), and the
    worker decides which mail goes out (signup_mail_send). So neither the answer nor its timing
    tells a visitor which addresses are registered (issue 17, item 9); and as the account only
    exists once the link is used, nothing else does either (not its username, not a login).
    `mail_grant` (mailcatcher.access.new_grant) lets the asking session read the link in demo mode.

    Raises ValidationError for what the account could never hold (NUL, lengths, the username's
    pattern or a reserved name). A username taken meanwhile is caught when the link is used.
    """
    _refuse_nul(name=name, username=username, email=email)
    hit(
        scope="signup-ip",
        key=ip,
        rate=rate_setting("RATE_LIMIT_SIGNUP_PER_IP"),
        message="Too many new accounts from your network. Please try again later.",
    )
    details = SignUpDetails(
        name=name.strip(), username=username.strip(), email=User.objects.normalize_email(email.strip())
    )
    # The field rules only: the uniqueness checks would look the address up.
    details.as_user().full_clean(exclude=["password"], validate_unique=False, validate_constraints=False)
    with transaction.atomic():
        outbox.enqueue("accounts.tasks.signup_mail_task", signup_token(details), base_url, mail_grant)


def signup_mail_send(*, token: str, base_url: str, mail_grant: str) -> bool:
    """The worker's half of signup_request. When no account uses the address, mail it the link
    that finishes the sign-up (carrying `mail_grant`) and return True. When one does, tell that
    account's owner that someone tried to sign up with their address, with no link that creates
    anything and no grant, and return False: only the address's owner learns it is registered.

    Not idempotent: a repeat sends the same mail again, which changes nothing else.
    Raises InvalidVerificationLink when the token has expired meanwhile (the task waited days).
    """
    details = signup_details(token=token)
    root = base_url.rstrip("/")
    owner = User.objects.filter(email__iexact=details.email).order_by("pk").first()
    if owner is not None:
        context: dict[str, object] = {
            "user": owner,
            "login_link": root + reverse("accounts:login"),
            "reset_link": root + reverse("accounts:password_reset"),
        }
        mail = EmailMultiAlternatives(
            subject="Someone tried to sign up to TweetHub with your address",
            body=render_to_string("accounts/email/signup_taken.txt", context),
            to=[owner.email],
        )
        mail.attach_alternative(render_to_string("accounts/email/signup_taken.html", context), "text/html")
    else:
        link = root + reverse("accounts:signup_confirm", args=[token])
        context = {"details": details, "link": link, "days": settings.VERIFY_EMAIL_MAX_AGE_DAYS}
        mail = EmailMultiAlternatives(
            subject="Finish creating your TweetHub account",
            body=render_to_string("accounts/email/signup_finish.txt", context),
            to=[details.email],
            headers={GRANT_HEADER: mail_grant} if mail_grant else None,
        )
        mail.attach_alternative(render_to_string("accounts/email/signup_finish.html", context), "text/html")
    with transaction.atomic():
        mail.send()
    return owner is None


def user_sign_up(*, token: str, password: str) -> User:
    """Finish a sign-up from its mailed link: create the account with `password`, verified (the
    link proved the address). The caller has validated the password (SignUpPasswordForm).

    Single use: once the account exists its address is taken, so a second use fails. Raises
    InvalidVerificationLink for a bad or expired link, and ValidationError (field errors) when the
    username or the address has an account by now, also when two uses race.
    """
    details = signup_details(token=token)
    _refuse_nul(name=details.name, username=details.username, email=details.email)
    user = details.as_user()
    user.verified_at = timezone.now()
    user.set_password(password)
    user.full_clean(exclude=["password"])
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError as error:
        # Lost a race with another account between full_clean() and the insert.
        constraint = getattr(getattr(error.__cause__, "diag", None), "constraint_name", "") or ""
        if "email" in constraint:
            raise ValidationError({"email": "An account with that email address already exists."}) from None
        raise ValidationError({"username": "That username is taken."}) from None
    return user


def user_verify_email(*, token: str) -> User:
    """Mark the account named by `token` verified. Idempotent: a second click changes nothing."""
    try:
        data = signing.loads(token, salt=VERIFY_SALT, max_age=timedelta(days=settings.VERIFY_EMAIL_MAX_AGE_DAYS))
    except signing.SignatureExpired:
        raise InvalidVerificationLink("This link has expired.", expired=True) from None
    except signing.BadSignature:
        raise InvalidVerificationLink("This link is not valid.") from None
    with transaction.atomic():
        user = User.objects.select_for_update().filter(pk=data.get("u")).first()
        if user is None or user.email.lower() != data.get("e"):
            raise InvalidVerificationLink("This link is not valid any more.")
        if user.verified_at is None:
            user.verified_at = timezone.now()
            user.save(update_fields=["verified_at"])
            authcache.forget_after_commit(user_ids=[user.pk])
    return user


def verification_mail_resend(*, user: User, base_url: str) -> bool:
    """Send a fresh verification link; False when the user is already verified. Rate-limited."""
    if user.is_verified:
        return False
    hit(
        scope="verify-resend",
        key=str(user.pk),
        rate=rate_setting("RATE_LIMIT_VERIFY_RESEND_PER_USER"),
        message="We have sent you several links already. Please check your mail, or try later.",
    )
    with transaction.atomic():
        _send_verification_mail(user=user, base_url=base_url)
    return True


# --- Login ---------------------------------------------------------------------------------------


def credentials_check(*, identifier: str, password: str, ip: str) -> User | None:
    """The user these credentials belong to, or None. Raises RateLimited over a limit (checked
    before the password), AccountSuspended for a suspended account's right password.

    Only failures count: each attempt is counted up front (so a concurrent burst cannot slip past a
    limit) and a right password takes it back. Three limits (issue 17, item 10):
    - RATE_LIMIT_LOGIN_PER_IP: failures from one address, at any accounts.
    - RATE_LIMIT_LOGIN_PER_ACCOUNT, the hard one: failures at one account from one address. Keyed
      by the address too, so failures from elsewhere never lock the owner out of their own.
    - RATE_LIMIT_LOGIN_ACCOUNT_CEILING: failures at one account from everywhere. Over it the account
      only slows down: an address that has not logged into it within LOGIN_KNOWN_ADDRESS_DAYS gets
      RATE_LIMIT_LOGIN_PER_ACCOUNT_SLOWED tries, while the owner's usual address keeps the hard
      limit alone. This bounds a guesser spread over many addresses without locking anyone out.
    Unknown names are limited like accounts, under their own key, so probing costs the same.
    """
    counted = [
        hit(
            scope="login-ip",
            key=ip,
            rate=rate_setting("RATE_LIMIT_LOGIN_PER_IP"),
            message="Too many failed logins from your network. Please wait a little.",
        )
    ]
    identifier = identifier.strip()
    lookup = {"email__iexact": identifier} if "@" in identifier else {"username__iexact": identifier}
    account_id = User.objects.filter(**lookup).values_list("pk", flat=True).first()
    account = f"user:{account_id}" if account_id else f"name:{identifier.lower()}"
    from_here = f"{account}|{ip}"
    counted.append(
        hit(
            scope="login-account",
            key=from_here,
            rate=rate_setting("RATE_LIMIT_LOGIN_PER_ACCOUNT"),
            message=(
                "Too many failed logins for this account from your network. Wait a little, or reset your password."
            ),
        )
    )
    ceiling = rate_setting("RATE_LIMIT_LOGIN_ACCOUNT_CEILING")
    if over(scope="login-account-all", key=account, rate=ceiling) and not marked(scope="login-known", key=from_here):
        counted.append(
            hit(
                scope="login-account-slowed",
                key=from_here,
                rate=rate_setting("RATE_LIMIT_LOGIN_PER_ACCOUNT_SLOWED"),
                message=(
                    "This account has had many failed logins lately, so it takes only a few tries an hour "
                    "from a network it was not used from before. Try again later, log in where you usually "
                    "do, or reset your password."
                ),
            )
        )
    user = authenticate(None, username=identifier, password=password)
    if isinstance(user, User):
        refund(*counted)
        mark(scope="login-known", key=from_here, seconds=settings.LOGIN_KNOWN_ADDRESS_DAYS * 86400)
        return user
    record(scope="login-account-all", key=account, rate=ceiling)
    if account_id:
        # Django's backend refuses inactive accounts as if the password were wrong. Tell the owner
        # (only someone who knows the password) that it is suspended, not that they mistyped.
        suspended = User.objects.filter(pk=account_id, suspended_at__isnull=False).first()
        if suspended is not None and suspended.check_password(password):
            raise AccountSuspended()
    return None


# --- Password reset ------------------------------------------------------------------------------


def password_reset_request(*, email: str, ip: str, base_url: str) -> None:
    """Ask for a reset link for the account at `email`, if there is one. Rate-limited per IP.

    The request does the same work whatever the address: one rate-limit hit and one outbox row for
    `password_reset_mail_task`, nothing read about accounts. Whether an account uses the address,
    and so whether a mail goes out, is decided by the worker (password_reset_mail_send): neither
    the answer nor its timing tells a visitor which addresses are registered (issue 17, item 9).
    """
    hit(
        scope="password-reset-ip",
        key=ip,
        rate=rate_setting("RATE_LIMIT_PASSWORD_RESET_PER_IP"),
        message="Too many password reset requests from your network. Please try again later.",
    )
    with transaction.atomic():
        outbox.enqueue("accounts.tasks.password_reset_mail_task", email, base_url)


def password_reset_mail_send(*, email: str, base_url: str) -> int:
    """Mail a reset link to every account Django's rules allow at `email` (active, with a usable
    password, the address equal case-insensitively: PasswordResetForm.get_users); returns how many
    were sent, 0 for an address without an account. Run by the worker.

    Not idempotent: a redelivered task sends a second mail, whose link is as valid as the first
    (both stop working once either is used), so a repeat costs an extra mail and nothing else.
    """
    sent = 0
    root = base_url.rstrip("/")
    for user in PasswordResetForm().get_users(email):
        uid, token = urlsafe_base64_encode(force_bytes(user.pk)), default_token_generator.make_token(user)
        link = root + reverse("accounts:password_reset_confirm", kwargs={"uidb64": uid, "token": token})
        context = {"user": user, "link": link}
        mail = EmailMultiAlternatives(
            subject=render_to_string("accounts/email/password_reset_subject.txt").strip(),
            body=render_to_string("accounts/email/password_reset.txt", context),
            to=[user.email],
        )
        mail.attach_alternative(render_to_string("accounts/email/password_reset.html", context), "text/html")
        with transaction.atomic():
            mail.send()
        sent += 1
    return sent


# --- Profile -------------------------------------------------------------------------------------


def profile_update(
    *,
    user: User,
    name: str,
    bio: str,
    location: str,
    website: str,
    avatar: UploadedFile | None = None,
    remove_avatar: bool = False,
    dm_policy: str | None = None,
) -> User:
    """Update the editable profile fields. Validates everything before writing anything.
    `dm_policy` (who may message the user, accounts.models.DmPolicy) is left as it is when None.

    A new avatar is checked and re-encoded (accounts.avatars) before the transaction; the old file
    is deleted only after the new row committed, so a failure never leaves a profile without one.
    Rate-limited per user (RateLimited), every attempt counted, refused ones included: each may carry
    an image to decode.
    """
    hit(
        scope="profile-user",
        key=str(user.pk),
        rate=rate_setting("RATE_LIMIT_PROFILE_PER_USER"),
        message="You have changed your profile many times in a short while. Please try again later.",
    )
    _refuse_nul(name=name, bio=bio, location=location, website=website)
    processed = process_avatar(avatar) if avatar is not None else None
    old_avatar_name = user.avatar.name if user.avatar else ""
    user.name, user.bio, user.location, user.website = (
        name.strip(),
        bio.strip(),
        location.strip(),
        website.strip(),
    )
    fields = ["name", "bio", "location", "website"]
    if dm_policy is not None:
        user.dm_policy = dm_policy
        fields.append("dm_policy")
    user.full_clean(exclude=["password", "username", "email", "avatar"])
    with transaction.atomic():
        if processed is not None:
            user.avatar.save("avatar.webp", processed, save=False)
            fields.append("avatar")
        elif remove_avatar and old_avatar_name:
            user.avatar = None
            fields.append("avatar")
        user.save(update_fields=fields)
        authcache.forget_after_commit(user_ids=[user.pk])
        # Tweet cards show the name and avatar: their author card goes, and so do (by digest) the
        # cached renderings of every tweet of theirs.
        user_id = user.pk
        transaction.on_commit(lambda: author_cards.forget(user_ids=[user_id]))
    if "avatar" in fields and old_avatar_name:
        storage, name_to_delete = user.avatar.storage, old_avatar_name
        transaction.on_commit(lambda: storage.delete(name_to_delete))
    return user


# --- Location (people nearby) -------------------------------------------------------------------

# Redis GEO cannot index nearer the poles than this (Web Mercator's limit, 85.05112878 degrees).
MAX_SHARED_LATITUDE = 85.0
# Decimal places kept: 0.01 degree is ~1.1 km north-south (less east-west away from the equator).
# Distances are shown in whole km, never under 1; snapping too means that someone moving their own
# position around to watch the rounding flip (trilateration) learns a grid cell, not an address.
LOCATION_DECIMALS = 2


def location_share(*, user: User, latitude: float, longitude: float) -> User:
    """Start sharing a position, or move it: it is snapped to the grid, saved, then indexed.

    Rate-limited per user (each move is a probe of everyone's distance). Raises ValidationError
    for a position out of range. The GEO index is written after commit; if Redis refuses, the
    index is marked stale so the next reader rebuilds it from Postgres.
    """
    if not (math.isfinite(latitude) and math.isfinite(longitude)):
        raise ValidationError("Give the position as two numbers.")
    if not -MAX_SHARED_LATITUDE <= latitude <= MAX_SHARED_LATITUDE:
        raise ValidationError(
            {"latitude": f"Latitude must be between -{MAX_SHARED_LATITUDE:g} and {MAX_SHARED_LATITUDE:g}."}
        )
    if not -180 <= longitude <= 180:
        raise ValidationError({"longitude": "Longitude must be between -180 and 180."})
    hit(
        scope="location",
        key=str(user.pk),
        rate=rate_setting("RATE_LIMIT_LOCATION_PER_USER"),
        message="You have moved your position many times. Please try again later.",
    )
    # -0.0 would print as "-0" in the settings form; 180 and -180 are the same meridian.
    lat = round(latitude, LOCATION_DECIMALS) + 0.0
    lon = round(longitude, LOCATION_DECIMALS) + 0.0
    if lon == 180.0:
        lon = -180.0
    user.latitude, user.longitude, user.location_updated_at = lat, lon, timezone.now()
    with transaction.atomic():
        user.save(update_fields=["latitude", "longitude", "location_updated_at"])
        user_id = user.pk
        authcache.forget_after_commit(user_ids=[user_id])
        transaction.on_commit(lambda: _geo_write(lambda: geo.place(user_id=user_id, latitude=lat, longitude=lon)))
    return user


def location_stop(*, user: User) -> User:
    """Stop sharing: the position is erased from Postgres and dropped from the index. Readers
    check Postgres too, so the user leaves every result as soon as this commits. Idempotent."""
    user.latitude = user.longitude = None
    user.location_updated_at = timezone.now()
    with transaction.atomic():
        user.save(update_fields=["latitude", "longitude", "location_updated_at"])
        user_id = user.pk
        authcache.forget_after_commit(user_ids=[user_id])
        transaction.on_commit(lambda: _geo_write(lambda: geo.remove(user_id=user_id)))
    return user


def _geo_write(write: Callable[[], None]) -> None:
    try:
        write()
    except redis.RedisError:
        logger.warning("GEO index write failed; marking the index for a rebuild", exc_info=True)
        # Redis is down: when it comes back empty, the missing ready key triggers the rebuild.
        with contextlib.suppress(redis.RedisError):
            geo.invalidate()


def geo_index_rebuild(*, replay_seconds: int = 60) -> int | None:
    """Rebuild the GEO index from Postgres. None when another process is already rebuilding,
    else how many users are indexed.

    Users may share, move or stop while it runs: their own after-commit writes may land in the old
    set, which the rename then discards. So, once the new set is live, every change made since
    shortly before the rebuild began (`replay_seconds` covers transactions that started earlier
    and committed during the scan) is re-applied from Postgres. Later writes go to the new set.
    """
    token = geo.acquire_rebuild()
    if token is None:
        return None
    try:
        started = timezone.now()
        sharing = User.objects.filter(latitude__isnull=False, is_active=True)
        rows = sharing.values_list("pk", "latitude", "longitude").order_by().iterator(chunk_size=5000)
        count = geo.install(positions=((pk, lat, lon) for pk, lat, lon in rows if lat is not None and lon is not None))
        since = started - timedelta(seconds=replay_seconds)
        changed = User.objects.filter(location_updated_at__gte=since).values_list(
            "pk", "latitude", "longitude", "is_active"
        )
        placed = [(pk, lat, lon) for pk, lat, lon, active in changed if active and lat is not None and lon is not None]
        placed_ids = {pk for pk, _, _ in placed}
        removed = [pk for pk, *_ in changed if pk not in placed_ids]
        geo.apply(placed=placed, removed=removed)
        return count
    finally:
        geo.release_rebuild(token)


# --- Activity ------------------------------------------------------------------------------------


def user_touch_last_active(*, user: User, now: datetime | None = None) -> bool:
    """Record activity for a request whose session did not already do it in its Redis read (a
    session served from Postgres). True when something was recorded.

    Nothing is written on the request path: the user joins the pending set in Redis (at most once
    per LAST_ACTIVE_RESOLUTION_SECONDS) and beat's last_active_flush writes Postgres. Only with
    Redis unavailable does it write Postgres directly, and then only when the loaded row's
    last_active is older than the resolution: at most one write per resolution per process.
    """
    now = now or timezone.now()
    try:
        return authcache.activity_record(user_id=user.pk, now_ms=int(now.timestamp() * 1000))
    except (redis.RedisError, OSError):
        logger.warning("activity not queued (Redis unavailable); writing last_active directly", exc_info=True)
    resolution = timedelta(seconds=settings.LAST_ACTIVE_RESOLUTION_SECONDS)
    if user.last_active is not None and now - user.last_active < resolution:
        return False
    User.objects.filter(pk=user.pk).filter(Q(last_active__isnull=True) | Q(last_active__lt=now)).update(
        last_active=now
    )
    user.last_active = now
    return True


def last_active_flush() -> int:
    """Write the activity queued in Redis to Postgres: one UPDATE for everyone pending. Returns
    the users written.

    The pending set is taken atomically (accounts.authcache.activity_take), so activity recorded
    during the flush waits for the next one; entries leave Redis only after the UPDATE committed,
    so a failed flush is retried by the next. last_active never moves backwards (a direct write
    made while Redis was down may be newer). Idempotent; safe to run concurrently.
    """
    entries = authcache.activity_take()
    if not entries:
        return 0
    ids = [user_id for user_id, _ in entries]
    times = [datetime.fromtimestamp(ms / 1000, tz=UTC) for _, ms in entries]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE accounts_user AS u SET last_active = seen.at
            FROM unnest(%s::bigint[], %s::timestamptz[]) AS seen(id, at)
            WHERE u.id = seen.id AND (u.last_active IS NULL OR u.last_active < seen.at)
            """,
            [ids, times],
        )
        written = int(cursor.rowcount)
    authcache.activity_ack(entries=entries)
    return written


# --- Counters and fan-out mode -------------------------------------------------------------------


def stats_adjust(*, user_id: int, followers: int = 0, following: int = 0, tweets: int = 0) -> UserStats:
    """Add to a user's exact counters, creating the row on first use. Call inside the transaction
    that writes the counted rows, so counts and rows commit (or roll back) together.

    One upsert statement: concurrent callers serialise on the row lock, never lose an increment.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO accounts_userstats AS s (user_id, followers, following, tweets, fanout_mode)
            VALUES (%s, GREATEST(%s, 0), GREATEST(%s, 0), GREATEST(%s, 0), 'push')
            ON CONFLICT (user_id) DO UPDATE SET
                followers = GREATEST(s.followers + EXCLUDED.followers + LEAST(%s, 0), 0),
                following = GREATEST(s.following + EXCLUDED.following + LEAST(%s, 0), 0),
                tweets = GREATEST(s.tweets + EXCLUDED.tweets + LEAST(%s, 0), 0)
            RETURNING user_id, followers, following, tweets, fanout_mode
            """,
            [user_id, followers, following, tweets, followers, following, tweets],
        )
        row = cursor.fetchone()
    assert row is not None
    return UserStats(user_id=row[0], followers=row[1], following=row[2], tweets=row[3], fanout_mode=row[4])


def fanout_mode_after_follower_change(*, stats: UserStats) -> str | None:
    """Switch push/pull mode when a follower count crosses the celebrity threshold.

    Called in the follow/unfollow transaction with the row just updated (and locked) by
    stats_adjust. Returns the new mode when it changed, else None. Promotion takes effect at once
    (readers start merging); demotion goes through DEMOTING, and the caller queues the backfill
    that ends it (timelines), so readers keep merging until feeds hold the author's tweets.
    """
    threshold = settings.CELEBRITY_THRESHOLD
    mode = stats.fanout_mode
    if mode in (FanoutMode.PUSH, FanoutMode.DEMOTING) and stats.followers > threshold:
        new = FanoutMode.PULL
    elif mode == FanoutMode.PULL and stats.followers <= threshold * settings.CELEBRITY_HYSTERESIS:
        new = FanoutMode.DEMOTING
    else:
        return None
    UserStats.objects.filter(user_id=stats.user_id).update(fanout_mode=new)
    return str(new)


def fanout_mode_finish_demotion(*, user_id: int) -> bool:
    """DEMOTING -> PUSH once the backfill is done. A no-op (False) if the account was promoted
    again meanwhile: the compare-and-set keeps a late backfill from undoing a newer decision."""
    return bool(
        UserStats.objects.filter(user_id=user_id, fanout_mode=FanoutMode.DEMOTING).update(fanout_mode=FanoutMode.PUSH)
    )


def fanout_mode_begin_restore(*, user_id: int) -> bool:
    """PUSH -> DEMOTING when a suspension is lifted: readers merge the account's tweets from its
    author list while the demotion backfill (which the caller queues when this returns True) puts
    them back into its followers' feeds. A PULL or DEMOTING account needs nothing: readers merge it
    already. Call in the transaction that lifts the suspension."""
    return bool(
        UserStats.objects.filter(user_id=user_id, fanout_mode=FanoutMode.PUSH).update(fanout_mode=FanoutMode.DEMOTING)
    )


# --- Deletion ------------------------------------------------------------------------------------


def user_delete(*, user: User) -> None:
    """Delete an account and everything it wrote (tweets, follows, stats cascade in Postgres);
    after commit its feed keys go. Ids of its tweets still sitting in followers' feeds no longer
    hydrate: readers skip them and queue their removal (timelines.selectors)."""
    user_id = user.pk
    with transaction.atomic():
        from follows.models import Follow

        # Counts of the people it followed and who followed it drop with the rows.
        for followee_id in Follow.objects.filter(follower_id=user_id).values_list("followee_id", flat=True):
            stats_adjust(user_id=followee_id, followers=-1)
        for follower_id in Follow.objects.filter(followee_id=user_id).values_list("follower_id", flat=True):
            stats_adjust(user_id=follower_id, following=-1)
        user.delete()
        # A cached row would keep the account's sessions logged in after it is gone.
        authcache.forget_after_commit(user_ids=[user_id])
        # Their tweets' cards stay until they expire, but without the author card none is shown
        # from cache: a reader misses, finds no row in Postgres and drops the id.
        transaction.on_commit(lambda: author_cards.forget(user_ids=[user_id]))
        transaction.on_commit(lambda: _drop_feeds(user_id))
        transaction.on_commit(lambda: _end_sessions(user_id), robust=True)
        transaction.on_commit(lambda: _geo_write(lambda: geo.remove(user_id=user_id)))


def _end_sessions(user_id: int) -> None:
    from accounts.sessions_end import sessions_end

    sessions_end(user_id=user_id)


def _drop_feeds(user_id: int) -> None:
    from timelines.services import feeds_drop

    feeds_drop(user_ids=[user_id])
