"""Blocks and mutes: block / unblock, mute / unmute, and the caller's own lists of both.

Over follows.services (block_create, block_delete, mute_create, mute_delete) and follows.blocks
(blocked_page, muted_page), the calls the profile's buttons and /settings/blocked/ and
/settings/muted/ make: what a block undoes (follows both ways) and refuses from then on, what a mute
hides, the limits (verified only, never oneself, RATE_LIMIT_BLOCKS_PER_USER) all live there."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest
from ninja import Router
from pydantic import Field

from accounts.models import User
from api import cursors
from api.auth import authenticated, user_of
from api.models import Scope
from api.schemas import Page, Person, Schema, person_out
from api.views.common import errors, person
from api.views.params import Cursor, Username
from follows import blocks, services
from follows.selectors import people_rows
from tweethub.paging import Page as UserPage

router = Router(tags=["blocks and mutes"])


class BlockResult(Schema):
    blocking: bool
    changed: bool = Field(description="False when it was so already (both calls are idempotent).")


class MuteResult(Schema):
    muting: bool
    changed: bool = Field(description="False when it was so already (both calls are idempotent).")


WRITE_ERRORS = errors(400, 403, 404, 422)


@router.put("/users/{username}/block", response={200: BlockResult, **WRITE_ERRORS}, auth=authenticated(Scope.WRITE))
def block(request: HttpRequest, username: Username) -> dict[str, object]:
    """Block them: the follows between you go, both ways; from then on neither can follow, reply to,
    mention or message the other, and each is left out of the other's searches, suggestions and
    threads. Idempotent. Verified accounts only (403); yourself 422; rate-limited (429)."""
    changed = services.block_create(blocker=user_of(request), blocked=person(username))
    return {"blocking": True, "changed": changed}


@router.delete("/users/{username}/block", response={200: BlockResult, **WRITE_ERRORS}, auth=authenticated(Scope.WRITE))
def unblock(request: HttpRequest, username: Username) -> dict[str, object]:
    """Unblock them (the follows the block removed stay removed). Idempotent; as block for refusals."""
    changed = services.block_delete(blocker=user_of(request), blocked=person(username))
    return {"blocking": False, "changed": changed}


@router.put("/users/{username}/mute", response={200: MuteResult, **WRITE_ERRORS}, auth=authenticated(Scope.WRITE))
def mute(request: HttpRequest, username: Username) -> dict[str, object]:
    """Mute them: their tweets, and replies to them, leave your home timeline, their replies your
    threads; they are not told. Idempotent; as block for refusals."""
    changed = services.mute_create(muter=user_of(request), muted=person(username))
    return {"muting": True, "changed": changed}


@router.delete("/users/{username}/mute", response={200: MuteResult, **WRITE_ERRORS}, auth=authenticated(Scope.WRITE))
def unmute(request: HttpRequest, username: Username) -> dict[str, object]:
    """Unmute them: what the mute hid comes back (if you follow them). Idempotent; as block for refusals."""
    changed = services.mute_delete(muter=user_of(request), muted=person(username))
    return {"muting": False, "changed": changed}


def _listed(
    request: HttpRequest, cursor: str | None, page_of: Callable[..., UserPage[User, int]]
) -> dict[str, object]:
    user = user_of(request)
    page = page_of(user_id=user.pk, before=cursors.before(cursor), limit=settings.TIMELINE_PAGE_SIZE)
    rows = people_rows(viewer_id=user.pk, people=page.items)
    return {"items": [person_out(row) for row in rows], "next_cursor": cursors.next_cursor(page.next_cursor)}


@router.get("/me/blocks", response={200: Page[Person], **errors(403, 422)}, auth=authenticated(Scope.READ))
def my_blocks(request: HttpRequest, cursor: Cursor = None) -> dict[str, object]:
    """The accounts you blocked, newest block first (as /settings/blocked/). Yours only."""
    return _listed(request, cursor, blocks.blocked_page)


@router.get("/me/mutes", response={200: Page[Person], **errors(403, 422)}, auth=authenticated(Scope.READ))
def my_mutes(request: HttpRequest, cursor: Cursor = None) -> dict[str, object]:
    """The accounts you muted, newest mute first (as /settings/muted/). Yours only."""
    return _listed(request, cursor, blocks.muted_page)
