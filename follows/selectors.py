"""Reads of follows: is X following Y, and the followers / following pages.

Every page here costs a constant number of queries: one for the rows (people joined in), one for
"which of these does the viewer follow". Nothing is left for templates to look up.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from django.conf import settings
from django.db import connection
from django.db.models import F, OuterRef, Subquery, Sum
from django.db.models.functions import Coalesce

from accounts.models import FollowerShard, User, UserStats
from follows.blocks import block_related
from follows.models import Follow
from tweethub.paging import Page, cut, fetch_size, older_than


@dataclass(frozen=True)
class PersonRow:
    """One person in a list, with the viewer's relation to them (for the follow button)."""

    person: User
    is_following: bool


# A page of people, newest follow first; the cursor (?before=) is a Follow id.
PeoplePage = Page[PersonRow, int]


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
    # The cursor is a Follow id: newest follow first.
    anchor = "followee" if side == "follower" else "follower"
    queryset = Follow.objects.filter(**{f"{anchor}_id": user_id, f"{side}__is_active": True}).select_related(side)
    follows = older_than(queryset, before=before, limit=limit)
    people = [getattr(follow, side) for follow in follows.items]
    return follows.with_items(people_rows(viewer_id=viewer_id, people=people))


def followers_page(*, user_id: int, viewer_id: int | None, before: int | None, limit: int) -> PeoplePage:
    """Active people following `user_id`, newest follow first, with follows older than `before`
    (a Follow id). Two queries at most, whatever `limit` is."""
    return _page(side="follower", user_id=user_id, viewer_id=viewer_id, before=before, limit=limit)


def following_page(*, user_id: int, viewer_id: int | None, before: int | None, limit: int) -> PeoplePage:
    """Active people `user_id` follows, newest follow first; as followers_page."""
    return _page(side="followee", user_id=user_id, viewer_id=viewer_id, before=before, limit=limit)


# --- Two hops away: people you may know, friends of friends, followers of followers ---------------

# Which column of follows_follow leads from a person to the next one, per direction.
#   "following": X's followees are the followee_id of rows whose follower_id is X;
#   "followers": X's followers are the follower_id of rows whose followee_id is X.
# Each (anchor, -id) lookup is an index range scan (follows_{follower,followee}_id_desc).
_HOP = {"following": ("follower_id", "followee_id"), "followers": ("followee_id", "follower_id")}


def _reached_sql(direction: Literal["following", "followers"]) -> str:
    """Common table expressions `frontier` (the viewer's newest active connections, at most
    DISCOVER_FRONTIER_LIMIT) and `reached` (everyone the frontier connects to the same way, each
    frontier member contributing its newest DISCOVER_HOP_LIMIT connections, with how many frontier
    members reach them), without the viewer. Parameters: viewer, frontier, hop.

    Only two fixed column names are formatted in; every value is a bound parameter.
    """
    anchor, other = _HOP[direction]
    return f"""
        WITH frontier AS (
            SELECT f.{other} AS via
            FROM follows_follow f JOIN accounts_user v ON v.id = f.{other} AND v.is_active
            WHERE f.{anchor} = %(viewer)s
            ORDER BY f.id DESC
            LIMIT %(frontier)s
        ), reached AS (
            SELECT hop.person_id, count(*) AS connections
            FROM frontier CROSS JOIN LATERAL (
                SELECT h.{other} AS person_id FROM follows_follow h
                WHERE h.{anchor} = frontier.via
                ORDER BY h.id DESC
                LIMIT %(hop)s
            ) hop
            WHERE hop.person_id <> %(viewer)s
            GROUP BY hop.person_id
        )
    """  # noqa: S608 (two column names from _HOP, never input; values are bound)


_SUGGESTIONS_SQL = """
        , ranked AS (
            SELECT r.person_id, r.connections
            FROM reached r JOIN accounts_user u ON u.id = r.person_id AND u.is_active
            WHERE NOT EXISTS (
                SELECT 1 FROM follows_follow mine
                WHERE mine.follower_id = %(viewer)s AND mine.followee_id = r.person_id
            )
            AND NOT EXISTS (
                SELECT 1 FROM follows_block b
                WHERE (b.blocker_id = %(viewer)s AND b.blocked_id = r.person_id)
                   OR (b.blocked_id = %(viewer)s AND b.blocker_id = r.person_id)
            )
            ORDER BY r.connections DESC, r.person_id
            LIMIT %(limit)s
        )
        SELECT ranked.person_id, ranked.connections, ARRAY(
            SELECT frontier.via FROM frontier JOIN follows_follow x
                ON x.follower_id = frontier.via AND x.followee_id = ranked.person_id
            ORDER BY frontier.via LIMIT 2
        )
        FROM ranked ORDER BY ranked.connections DESC, ranked.person_id
"""

_RANKED_PAGE_SQL = """
    SELECT r.person_id, r.connections
    FROM reached r JOIN accounts_user u ON u.id = r.person_id AND u.is_active
    WHERE (r.connections < %(c)s OR (r.connections = %(c)s AND r.person_id > %(p)s))
    AND NOT EXISTS (
        SELECT 1 FROM follows_block b
        WHERE (b.blocker_id = %(viewer)s AND b.blocked_id = r.person_id)
           OR (b.blocked_id = %(viewer)s AND b.blocker_id = r.person_id)
    )
    ORDER BY r.connections DESC, r.person_id
    LIMIT %(limit)s
"""


def _limits(viewer_id: int) -> dict[str, int]:
    return {
        "viewer": viewer_id,
        "frontier": settings.DISCOVER_FRONTIER_LIMIT,
        "hop": settings.DISCOVER_HOP_LIMIT,
    }


@dataclass(frozen=True)
class Suggestion:
    """Someone followed by people the viewer follows, whom the viewer does not follow yet."""

    person: User
    # How many of the people the viewer follows follow them (the ranking).
    mutual: int
    # Up to two of those people, to name ("Followed by @ann and @bob").
    through: list[User]

    @property
    def note(self) -> str:
        """ "Followed by @ann, @bob and 3 others you follow" (plain text, escaped when shown)."""
        names = [f"@{person.username}" for person in self.through]
        others = self.mutual - len(names)
        if not names:
            return f"Followed by {_people(self.mutual)} you follow"
        if others <= 0:
            return "Followed by " + " and ".join(names)
        return f"Followed by {', '.join(names)} and {others} other{'s' if others != 1 else ''} you follow"


def suggestions(*, viewer_id: int, limit: int) -> list[Suggestion]:
    """People you may know: accounts followed by the people `viewer_id` follows, most mutual
    connections first (ties: oldest account first), without the viewer, accounts the viewer
    already follows, and deactivated accounts. Two queries."""
    sql = _reached_sql("following") + _SUGGESTIONS_SQL
    with connection.cursor() as cursor:
        cursor.execute(sql, {**_limits(viewer_id), "limit": limit})
        found: list[tuple[int, int, list[int]]] = cursor.fetchall()
    people = User.objects.in_bulk({pk for row in found for pk in (row[0], *row[2])})
    return [
        Suggestion(person=people[pk], mutual=mutual, through=[people[via] for via in through if via in people])
        for pk, mutual, through in found
        if pk in people
    ]


@dataclass(frozen=True)
class RankedRow:
    person: User
    is_following: bool
    # How many of the viewer's connections lead to this person.
    connections: int
    # Why they are listed, e.g. "Followed by 3 people you follow" (plain text).
    note: str


# Ranked by connections, so paged by (connections, user id) of the last row (?after=, read by
# tweethub.cursors.rank_cursor) instead of an id.
RankedPage = Page[RankedRow, tuple[int, int]]


def _ranked_page(
    *, direction: Literal["following", "followers"], viewer_id: int, after: tuple[int, int] | None, limit: int
) -> RankedPage:
    # Keyset pagination on (connections desc, id asc): a page costs the same wherever it is, and
    # a count that changes between pages moves a person, it cannot break the page. The first page
    # starts after a count nobody reaches.
    c, p = after if after is not None else (2**62, 0)
    params = {**_limits(viewer_id), "limit": fetch_size(limit), "c": c, "p": p}
    sql = _reached_sql(direction) + _RANKED_PAGE_SQL
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        found: list[tuple[int, int]] = cursor.fetchall()
    ranked = cut(found, limit=limit, cursor=lambda row: (row[1], row[0]))
    note = _followed_by_note if direction == "following" else _follows_note
    people = User.objects.in_bulk([pk for pk, _ in ranked.items])
    followed = followed_among(follower_id=viewer_id, user_ids=people)
    return ranked.with_items(
        [
            RankedRow(person=people[pk], is_following=pk in followed, connections=connections, note=note(connections))
            for pk, connections in ranked.items
            if pk in people
        ]
    )


def _people(count: int) -> str:
    return f"{count} {'person' if count == 1 else 'people'}"


def _followed_by_note(connections: int) -> str:
    return f"Followed by {_people(connections)} you follow"


def _follows_note(connections: int) -> str:
    return f"Follows {connections} of your followers"


def friends_of_friends_page(*, viewer_id: int, after: tuple[int, int] | None, limit: int) -> RankedPage:
    """Everyone the people `viewer_id` follows follow (the viewer excepted), ranked by how many of
    them do. Three queries."""
    return _ranked_page(direction="following", viewer_id=viewer_id, after=after, limit=limit)


def followers_of_followers_page(*, viewer_id: int, after: tuple[int, int] | None, limit: int) -> RankedPage:
    """Everyone who follows the viewer's followers (the viewer excepted), ranked by how many of
    the viewer's followers they follow. Three queries."""
    return _ranked_page(direction="followers", viewer_id=viewer_id, after=after, limit=limit)


# --- Who to follow, on an empty home timeline ------------------------------------------------------


@dataclass(frozen=True)
class Offer:
    """Someone the viewer does not follow yet, and why they are offered (plain text)."""

    person: User
    note: str


def most_followed(*, viewer_id: int, leave_out: Iterable[int] = (), limit: int) -> list[Offer]:
    """Active accounts with the most followers (ties: newest first), without the viewer, the
    accounts the viewer follows, `leave_out` and accounts nobody follows yet. One query."""
    followed = Follow.objects.filter(follower_id=viewer_id).values("followee_id")
    # The exact count: the folded one plus the changes still in the account's shards (a few rows
    # at most, by primary key), so someone followed a moment ago is offered at once.
    pending = (
        FollowerShard.objects.filter(user_id=OuterRef("user_id"))
        .order_by()
        .values("user_id")
        .annotate(n=Sum("followers"))
        .values("n")
    )
    stats = (
        UserStats.objects.filter(user__is_active=True)
        .annotate(total=F("followers") + Coalesce(Subquery(pending), 0))
        .filter(total__gt=0)
        .exclude(user_id__in=[viewer_id, *leave_out])
        .exclude(user_id__in=followed)
        .exclude(block_related("user_id", viewer_id))
        .select_related("user")
        .order_by("-total", "-user_id")[:limit]
    )
    return [Offer(person=row.user, note=f"{row.total} follower{'' if row.total == 1 else 's'}") for row in stats]


def who_to_follow(*, viewer_id: int, limit: int) -> list[Offer]:
    """Friends of friends first (`suggestions`), then the most followed accounts: a member who
    follows nobody yet (every new account, and every unconfirmed one) has no friends of friends.
    Three queries at most; the viewer follows none of them."""
    offers = [Offer(person=s.person, note=s.note) for s in suggestions(viewer_id=viewer_id, limit=limit)]
    if len(offers) < limit:
        shown = {offer.person.pk for offer in offers}
        offers += most_followed(viewer_id=viewer_id, leave_out=shown, limit=limit - len(offers))
    return offers
