from __future__ import annotations

from typing import Any, cast

from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.views.decorators.http import require_http_methods, require_POST

from accounts import authcache, services
from accounts.forms import LocationForm, LoginForm, ProfileForm, SignUpForm, SignUpPasswordForm
from accounts.models import User
from accounts.sessions_end import sessions_end
from mailcatcher.access import new_grant
from tweethub.http import base_url, client_ip, safe_next

BACKEND = "accounts.backends.UsernameOrEmailBackend"
# The address and username a sign-up was just sent for, for the "check your mail" page.
SIGNUP_SENT = "accounts.signup_sent"


def _sign_in(request: HttpRequest, user: User) -> None:
    # In demo mode this also lets the browser read the account's captured mail, for as long as
    # this session lasts (mailcatcher.access).
    login(request, user, backend=BACKEND)


@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    """Step one: the same answer for every valid request, whether the address is free or taken
    (services.signup_request); the mail says which, to the address's owner only."""
    if request.user.is_authenticated:
        return redirect("landing")
    form = SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.signup_request(
                name=data["name"], username=data["username"], email=data["email"],
                ip=client_ip(request), base_url=base_url(request), mail_grant=new_grant(request.session),
            )  # fmt: skip
        except ValidationError as error:
            form.add_error(None, error)
        else:
            # Only what the visitor typed, for the next page to repeat back.
            request.session[SIGNUP_SENT] = {"email": data["email"], "username": data["username"]}
            return redirect("accounts:verify_sent")
    status = 400 if request.method == "POST" else 200
    return render(request, "accounts/signup.html", {"form": form}, status=status)


def verify_sent(request: HttpRequest) -> HttpResponse:
    sent = request.session.get(SIGNUP_SENT)
    if not isinstance(sent, dict):
        return redirect("accounts:signup")
    context = {"sent_to": str(sent.get("email", "")), "username": str(sent.get("username", ""))}
    return render(request, "accounts/verify_sent.html", context)


@require_http_methods(["GET", "POST"])
def signup_confirm(request: HttpRequest, token: str) -> HttpResponse:
    """Step two, from the mailed link: choose a password, and the account exists, verified, and
    this browser is logged into it. Opening the link changes nothing (mail scanners follow links);
    the POST does, once: a second use finds the address taken."""
    try:
        details = services.signup_details(token=token)
    except services.InvalidVerificationLink as error:
        return render(request, "accounts/signup_confirm.html", {"error": error}, status=400)
    form = SignUpPasswordForm(request.POST or None, candidate=details.as_user())
    if request.method == "POST" and form.is_valid():
        try:
            user = services.user_sign_up(token=token, password=form.cleaned_data["password1"])
        except ValidationError as error:
            # Taken since the link was sent: the reader of the link owns the address, so say so.
            form.add_error(None, ValidationError(error.messages))
        else:
            _sign_in(request, user)
            messages.success(request, f"Welcome to TweetHub, @{user.username}: your account is ready.")
            return redirect("accounts:verify_done")
    status = 400 if request.method == "POST" else 200
    return render(request, "accounts/signup_confirm.html", {"form": form, "details": details}, status=status)


def verify(request: HttpRequest, token: str) -> HttpResponse:
    """GET on purpose: the signed token itself is the credential, so there is nothing for a
    cross-site request to forge, and a mail link must work with one click. Idempotent.

    Redirects afterwards, so the token leaves the address bar (and never reaches a Referer), and
    the next page is rendered with the freshly verified user.
    """
    try:
        user = services.user_verify_email(token=token)
    except services.InvalidVerificationLink as error:
        return render(request, "accounts/verify_failed.html", {"error": error}, status=400)
    messages.success(request, f"Thanks, @{user.username}: your email address is confirmed.")
    return redirect("accounts:verify_done")


def verify_done(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/verify_done.html")


@require_POST
@login_required
def verify_resend(request: HttpRequest) -> HttpResponse:
    if services.verification_mail_resend(user=cast(User, request.user), base_url=base_url(request)):
        messages.success(request, "We sent you a new confirmation link.")
    else:
        messages.info(request, "Your email address is already confirmed.")
    return redirect(safe_next(request, reverse("landing")))


@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    form = LoginForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.credentials_check(
                identifier=form.cleaned_data["username"],
                password=form.cleaned_data["password"],
                ip=client_ip(request),
            )
        except services.AccountSuspended as suspended:
            form.add_error(None, str(suspended))
        else:
            if user is not None:
                _sign_in(request, user)
                return redirect(safe_next(request, reverse("landing")))
            form.add_error(None, "That username or email and password do not match an account.")
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "accounts/login.html",
        {"form": form, "next": safe_next(request, "")},
        status=status,
    )


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    # Flushes the whole session: nothing it earned, captured mail included, passes to whoever uses
    # this browser next (issue 17, item 5).
    logout(request)
    messages.info(request, "You are logged out.")
    return redirect("landing")


@login_required
@require_http_methods(["GET", "POST"])
def settings_profile(request: HttpRequest) -> HttpResponse:
    user = cast(User, request.user)
    fields = ("name", "bio", "location", "website", "dm_policy")
    initial = {f: getattr(user, f) for f in fields}
    form = ProfileForm(request.POST or None, request.FILES or None, initial=initial, has_avatar=bool(user.avatar))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.profile_update(
                user=user, name=data["name"], bio=data["bio"], location=data["location"],
                website=data["website"],
                avatar=data["avatar"] or None, remove_avatar=data.get("remove_avatar", False),
                dm_policy=data["dm_policy"] or None,
            )  # fmt: skip
        except ValidationError as error:
            _attach_errors(form, error)
        else:
            messages.success(request, "Your profile is saved.")
            return redirect("settings_profile")
    status = 400 if request.method == "POST" else 200
    return render(request, "accounts/settings_profile.html", {"form": form}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def settings_location(request: HttpRequest) -> HttpResponse:
    """Share a position with people nearby, or move it. Stopping is its own POST (below)."""
    user = cast(User, request.user)
    # "51.51", not "51.51000000000001" or "10.0": the stored value is on a 0.01-degree grid.
    initial = {name: f"{value:g}" for name in ("latitude", "longitude") if (value := getattr(user, name)) is not None}
    form = LocationForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        was_sharing = user.latitude is not None
        try:
            services.location_share(
                user=user, latitude=form.cleaned_data["latitude"], longitude=form.cleaned_data["longitude"]
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, "Your position is updated." if was_sharing else "You now share your location.")
            return redirect("settings_location")
    status = 400 if request.method == "POST" else 200
    return render(request, "accounts/settings_location.html", {"form": form}, status=status)


@login_required
@require_POST
def settings_location_stop(request: HttpRequest) -> HttpResponse:
    """Idempotent: stopping when not sharing changes nothing and says the same."""
    services.location_stop(user=cast(User, request.user))
    messages.success(request, "You no longer share your location, and we deleted the position.")
    return redirect("settings_location")


def _attach_errors(form: ProfileForm, error: ValidationError) -> None:
    """Service errors without a field (e.g. the avatar check) belong beside the avatar input."""
    if hasattr(error, "error_dict"):
        form.add_error(None, error)
    else:
        form.add_error("avatar", error)


class PasswordResetView(auth_views.PasswordResetView):
    """Django's form and pages; the mail goes out from the worker (services.password_reset_request),
    so every address gets the same answer in the same time, registered or not."""

    template_name = "accounts/password_reset_form.html"
    success_url = reverse_lazy("accounts:password_reset_done")

    def form_valid(self, form: Any) -> HttpResponse:
        services.password_reset_request(
            email=form.cleaned_data["email"], ip=client_ip(self.request), base_url=base_url(self.request)
        )
        # Not super(): Django's form_valid would look the address up and send the mail from here.
        return HttpResponseRedirect(self.get_success_url())


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("accounts:password_reset_complete")

    def form_valid(self, form: Any) -> HttpResponse:
        # The new password changes the session auth hash: every session of the account must end,
        # so no cached row may keep the old hash (accounts.authcache). Checked before the change
        # too: with the cache unreachable, refuse rather than change the password and leave it.
        authcache.forget(user_ids=[form.user.pk])
        response = super().form_valid(form)
        authcache.forget_after_commit(user_ids=[form.user.pk])
        # Their rows and websockets too: a socket opened with a stolen cookie must not outlive it.
        sessions_end(user_id=form.user.pk)
        return response


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "accounts/password_change.html"
    success_url = reverse_lazy("settings_profile")

    def get_form_kwargs(self) -> dict[str, Any]:
        # The form saves the whole row (SetPasswordForm.save): give it the row from Postgres, not
        # request.user, which may be built from the auth-user cache.
        kwargs = super().get_form_kwargs()
        kwargs["user"] = User.objects.get(pk=cast(User, self.request.user).pk)
        return kwargs

    def form_valid(self, form: Any) -> HttpResponse:
        # As for a reset, every other session ends, with its websockets. This one is kept under a
        # new key by Django's update_session_auth_hash (in super().form_valid): the store tells
        # this browser's sockets to reconnect with it, and whoever holds only the old key is refused.
        authcache.forget(user_ids=[form.user.pk])
        response = super().form_valid(form)
        authcache.forget_after_commit(user_ids=[form.user.pk])
        sessions_end(user_id=form.user.pk, keep_session_key=self.request.session.session_key)
        messages.success(self.request, "Your password is changed.")
        return response
