"""Reads of follows: is X following Y, and the followers / following pages.

Every page here costs a constant number of queries: one for the rows (people joined in), one for
"which of these does the viewer follow". Nothing is left for templates to look up.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from accounts.models import User
from follows.models import Follow


@dataclass(frozen=True)
class PersonRow:
    """One person in a list, with the viewer's relation to them (for the follow button)."""

    person: User
    is_following: bool


@dataclass(frozen=True)
class PeoplePage:
    rows: list[PersonRow]
    # ?before= for the next page (a Follow id), or None on the last page.
    next_cursor: int | None


def is_following(*, follower_id: int | None, followee_id: int) -> bool:
    """Does `follower_id` follow `followee_id`? False for anonymous viewers (None), no query."""
    if follower_id is None:
        return False
    return Follow.objects.filter(follower_id=follower_id, followee_id=followee_id).exists()


def followed_among(*, follower_id: int | None, user_ids: Iterable[int]) -> set[int]:
    """The subset of `user_ids` that `follower_id` follows, in one query (none when empty)."""
    ids = set(user_ids)
    if follower_id is None or not ids:
        return set()
    return set(
        Follow.objects.filter(follower_id=follower_id, followee_id__in=ids).values_list("followee_id", flat=True)
    )


def people_rows(*, viewer_id: int | None, people: list[User]) -> list[PersonRow]:
    """Pair each person with whether the viewer follows them: one query for the whole list."""
    followed = followed_among(follower_id=viewer_id, user_ids=(person.pk for person in people))
    return [PersonRow(person=person, is_following=person.pk in followed) for person in people]


def _page(
    *, side: Literal["follower", "followee"], user_id: int, viewer_id: int | None, before: int | None, limit: int
) -> PeoplePage:
    # `side` is the person each row shows: a user's followers are the `follower` of follows whose
    # followee is the user, and the other way round. Served by follows_{followee,follower}_id_desc.
    anchor = "followee" if side == "follower" else "follower"
    queryset = Follow.objects.filter(**{f"{anchor}_id": user_id, f"{side}__is_active": True}).select_related(side)
    if before is not None:
        queryset = queryset.filter(id__lt=before)
    # One row more than shown tells whether a next page exists, so the last page has no
    # "more" link leading to an empty page.
    follows = list(queryset.order_by("-id")[: limit + 1])
    shown = follows[:limit]
    people = [getattr(follow, side) for follow in shown]
    next_cursor = shown[-1].pk if len(follows) > limit else None
    return PeoplePage(rows=people_rows(viewer_id=viewer_id, people=people), next_cursor=next_cursor)


def followers_page(*, user_id: int, viewer_id: int | None, before: int | None, limit: int) -> PeoplePage:
    """Active people following `user_id`, newest follow first, with follows older than `before`
    (a Follow id). Two queries at most, whatever `limit` is."""
    return _page(side="follower", user_id=user_id, viewer_id=viewer_id, before=before, limit=limit)


def following_page(*, user_id: int, viewer_id: int | None, before: int | None, limit: int) -> PeoplePage:
    """Active people `user_id` follows, newest follow first; as followers_page."""
    return _page(side="followee", user_id=user_id, viewer_id=viewer_id, before=before, limit=limit)
