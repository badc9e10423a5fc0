"""Writes of personal access tokens: create (the secret is returned once, never stored), revoke,
and the occasional last-used stamp."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from accounts.services import refuse_nul
from api import tokencache, tokens
from api.models import AccessToken, Scope
from tweethub.ratelimit import hit, rate_setting


class TokenNameTaken(Exception):
    """The user already has a token with this name (409 in the API, a form error on the page)."""

    message = "You already have a token with that name."


def token_create(*, user: User, name: str, scopes: list[str]) -> tuple[AccessToken, str]:
    """Make a token for `user` and return it with its secret, which exists nowhere else afterwards.

    The user must be active (a suspended account makes none); the name is 1..50 characters after
    trimming, unique per user (TokenNameTaken); scopes a non-empty subset of Scope; at most
    API_TOKENS_PER_USER tokens held; rate-limited per user (RateLimited). Nothing is written when a
    check fails."""
    if not user.is_active:
        raise PermissionDenied("This account is suspended.")
    name = name.strip()
    refuse_nul(name=name)
    errors: dict[str, str] = {}
    if not name:
        errors["name"] = "Give the token a name, to recognise it later."
    elif len(name) > AccessToken._meta.get_field("name").max_length:  # type: ignore[operator]
        errors["name"] = "Token names are at most 50 characters."
    chosen = sorted(set(scopes))
    if not chosen or any(scope not in Scope.values for scope in chosen):
        errors["scopes"] = f"Choose one or more of: {', '.join(Scope.values)}."
    if errors:
        raise ValidationError(errors)
    if AccessToken.objects.filter(user=user).count() >= settings.API_TOKENS_PER_USER:
        raise ValidationError(
            {"name": f"You hold {settings.API_TOKENS_PER_USER} tokens, the most there may be: revoke one first."}
        )
    hit(
        scope="api-token",
        key=str(user.pk),
        rate=rate_setting("RATE_LIMIT_API_TOKENS_PER_USER"),
        message="You are creating tokens very fast. Please wait a little.",
    )
    secret = tokens.new_token()
    try:
        with transaction.atomic():
            token = AccessToken.objects.create(
                user=user, name=name, scopes=chosen, digest=tokens.digest(secret), hint=tokens.hint(secret)
            )
    except IntegrityError as error:
        if AccessToken.objects.filter(user=user, name=name).exists():
            raise TokenNameTaken() from error
        raise
    return token, secret


def token_revoke(*, user: User, token_id: int) -> bool:
    """Revoke one of `user`'s tokens: it stops working at once (its next request is a 401).
    Idempotent: False when there was no such token of theirs (someone else's id changes nothing).
    The cached copy is replaced by a tombstone first; if Redis cannot take it, this raises (and
    nothing is deleted) rather than leave a copy that would work until it expires."""
    digest = AccessToken.objects.filter(user=user, pk=token_id).values_list("digest", flat=True).first()
    if digest is None:
        return False
    tokencache.revoke(digest=digest)
    deleted, _ = AccessToken.objects.filter(user=user, pk=token_id).delete()
    return deleted > 0


def token_touch(*, token: AccessToken) -> None:
    """Stamp last_used_at, at most once per API_TOKEN_CACHE_SECONDS (the stamp the loaded row carries
    decides). Called when a request read the token from Postgres (its cached copy had expired), so a
    busy token writes about once per cache lifetime. One UPDATE when it does."""
    now = timezone.now()
    fresh = timedelta(seconds=settings.API_TOKEN_CACHE_SECONDS)
    if token.last_used_at is not None and now - token.last_used_at < fresh:
        return
    AccessToken.objects.filter(pk=token.pk).update(last_used_at=now)
    token.last_used_at = now
