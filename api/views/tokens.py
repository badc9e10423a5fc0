"""Your personal access tokens, for a logged-in browser session only (a token cannot mint or list
tokens: one that leaked cannot make itself a successor). The settings page does the same."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from ninja import Router, Status

from api import selectors, services
from api.auth import session_only, user_of
from api.models import AccessToken
from api.problems import Problem
from api.schemas import NewToken, TokenIn, TokenOut
from api.views.common import errors
from api.views.params import TokenId

router = Router(tags=["tokens"])


def token_out(token: AccessToken) -> dict[str, object]:
    return {
        "id": token.pk, "name": token.name, "hint": token.hint, "scopes": token.scopes,
        "created_at": token.created_at, "last_used_at": token.last_used_at,
    }  # fmt: skip


@router.get("/tokens", response={200: list[TokenOut], **errors()}, auth=session_only())
def list_tokens(request: HttpRequest) -> list[dict[str, object]]:
    """Your tokens, newest first (their secrets are never shown again)."""
    return [token_out(token) for token in selectors.tokens_of(user_id=user_of(request).pk)]


@router.post("/tokens", response={201: NewToken, **errors(400, 403, 409, 422)}, auth=session_only())
def create_token(request: HttpRequest, payload: TokenIn) -> Status[dict[str, object]]:
    """Make a token. The response holds its secret, this once: keep it. 409 when you have a token
    with that name already; 422 for a bad name or scope, or when you hold the most tokens allowed."""
    token, secret = services.token_create(user=user_of(request), name=payload.name, scopes=payload.scopes)
    return Status(201, {**token_out(token), "token": secret})


@router.delete("/tokens/{token_id}", response={204: None, **errors(400, 403, 404, 422)}, auth=session_only())
def revoke_token(request: HttpRequest, token_id: TokenId) -> HttpResponse:
    """Revoke one of your tokens: its next request is refused (401)."""
    if not services.token_revoke(user=user_of(request), token_id=token_id):
        raise Problem(404, "You have no such token.", kind="not-found")
    return HttpResponse(status=204)
