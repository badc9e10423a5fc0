"""Password reset requests: the same answer and work for every address; the worker mails."""

from __future__ import annotations

from django.contrib.auth.forms import PasswordResetForm
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from tweethub import outbox
from tweethub.ratelimit import hit, rate_setting


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
