"""Sign-up (two steps: the mailed link, then the password) and email verification."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from accounts import authcache
from accounts.models import User
from accounts.services.common import InvalidVerificationLink, refuse_nul
from mailcatcher.access import GRANT_HEADER
from tweethub import outbox
from tweethub.ratelimit import hit, rate_setting

VERIFY_SALT = "accounts.verify-email"
SIGNUP_SALT = "accounts.sign-up"


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
    refuse_nul(name=name, username=username, email=email)
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
    refuse_nul(name=details.name, username=details.username, email=details.email)
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
