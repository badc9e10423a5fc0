"""Settings → API tokens: create a named, scoped token (its secret shown once), list, revoke."""

from __future__ import annotations

from typing import cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from accounts.models import User
from api import selectors, services
from api.forms import TokenForm


@never_cache  # the page that shows a new token's secret must not be kept by any cache
@login_required
@require_http_methods(["GET", "POST"])
def tokens(request: HttpRequest) -> HttpResponse:
    """GET lists the tokens; POST makes one and shows its secret on this response only (not after
    a redirect: the secret would have to sit in the session meanwhile)."""
    user = cast(User, request.user)
    form = TokenForm(request.POST or None)
    secret = None
    if request.method == "POST" and form.is_valid():
        try:
            _, secret = services.token_create(
                user=user, name=form.cleaned_data["name"], scopes=form.cleaned_data["scopes"]
            )
        except services.TokenNameTaken as error:
            form.add_error("name", error.message)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            form = TokenForm()
    status = 400 if request.method == "POST" and secret is None else 200
    context = {"form": form, "secret": secret, "tokens": selectors.tokens_of(user_id=user.pk)}
    return render(request, "api/settings_tokens.html", context, status=status)


@login_required
@require_POST
def revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    """Idempotent: revoking a token already gone (or someone else's id) changes nothing."""
    if services.token_revoke(user=cast(User, request.user), token_id=token_id):
        messages.success(request, "The token is revoked: it no longer works.")
    return redirect("settings_tokens")
