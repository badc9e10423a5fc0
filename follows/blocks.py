"""Reads of blocks and mutes (the selectors of follows.models.Block and Mute; writes are in
follows.services). A module of its own because follows.selectors is at its size limit.

Who uses what:
  - `blocked_either_way`: every write between two people (follow, reply, mention, message) checks it.
  - `hidden_author_ids(viewer_id)`: the accounts whose content a viewer must not be shown outside
    the home feed: people they blocked, people who blocked them, people they muted. Tweet search,
    people search, suggestions and a tweet's replies leave them out, and quote embeds of their
    tweets say "This tweet is unavailable" (tweets.templatetags.tweet_html); notifications use the same
    set (`excluded_actor_ids`). Cached per viewer in the cache Redis, dropped after each change.
  - `hidden_related(field, viewer_id)`: the same set as subqueries, for lists that filter in their
    own query: profiles' Tweets / Tweets & replies leave out reposts of hidden accounts' tweets,
    the Likes tab their tweets.
  - the home feed does not read these: a block removes follows both ways (and the feed's ids with
    them), and mutes are part of the timeline rule itself (tweets.models.TweetQuerySet.timeline_of).
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from dataclasses import dataclass

import redis
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.models import Q

from accounts.models import User
from follows.models import Block, Mute
from tweethub import badges
from tweethub.paging import Page, older_than

logger = logging.getLogger(__name__)


def _hidden_key(viewer_id: int) -> str:
    return f"hidden:{viewer_id}"


def blocked_either_way(a: int, b: int) -> bool:
    """Has either of the two blocked the other? One query on the unique pair index."""
    return Block.objects.filter(Q(blocker_id=a, blocked_id=b) | Q(blocker_id=b, blocked_id=a)).exists()


def block_related(field: str, viewer_id: int) -> Q:
    """A filter on `field` (an account id) for the accounts with a block either way with the viewer:
    `.exclude(block_related("author_id", viewer))`. Two small subqueries Postgres hashes once."""
    return Q(**{f"{field}__in": Block.objects.filter(blocker_id=viewer_id).values("blocked_id")}) | Q(
        **{f"{field}__in": Block.objects.filter(blocked_id=viewer_id).values("blocker_id")}
    )


def hidden_related(field: str, viewer_id: int) -> Q:
    """`block_related` plus the accounts the viewer muted: the hidden_author_ids set as subqueries
    in the list's own query (`.exclude(hidden_related("repost_of_author_id", viewer))`), so a list
    leaves out reposts of hidden accounts' tweets without another round trip."""
    return block_related(field, viewer_id) | Q(
        **{f"{field}__in": Mute.objects.filter(muter_id=viewer_id).values("muted_id")}
    )


def blocked_usernames(user_id: int, names: Collection[str]) -> frozenset[str]:
    """The lower-cased `names` whose accounts blocked `user_id` or were blocked by them: a mention
    of them by `user_id` is no mention. One query, none for no names."""
    if not names:
        return frozenset()
    sql = f"""
        SELECT lower(u.username) FROM {User._meta.db_table} u
        WHERE lower(u.username) = ANY(%s) AND EXISTS (
            SELECT 1 FROM {Block._meta.db_table} b
            WHERE (b.blocker_id = u.id AND b.blocked_id = %s) OR (b.blocked_id = u.id AND b.blocker_id = %s)
        )
    """  # noqa: S608 (table names from the models, values bound)
    with connection.cursor() as cursor:
        cursor.execute(sql, [list(names), user_id, user_id])
        return frozenset(row[0] for row in cursor.fetchall())


def mentionable(author_ids: Collection[int], names: Collection[str]) -> dict[str, frozenset[int]]:
    """For rendering mentions: each lower-cased name in `names` that is an active account, with the
    authors among `author_ids` that have a block with it either way (their mention of it is plain
    text). ONE query, none for no names (tweets.rendering, when it renders tweets afresh)."""
    if not names:
        return {}
    sql = f"""
        SELECT lower(u.username), ARRAY(
            SELECT CASE WHEN b.blocker_id = u.id THEN b.blocked_id ELSE b.blocker_id END
            FROM {Block._meta.db_table} b
            WHERE (b.blocker_id = u.id AND b.blocked_id = ANY(%s)) OR (b.blocked_id = u.id AND b.blocker_id = ANY(%s))
        )
        FROM {User._meta.db_table} u WHERE lower(u.username) = ANY(%s) AND u.is_active
    """  # noqa: S608 (table names from the models, values bound)
    authors = list(author_ids)
    with connection.cursor() as cursor:
        cursor.execute(sql, [authors, authors, list(names)])
        return {name: frozenset(blocked) for name, blocked in cursor.fetchall()}


def hidden_author_ids(viewer_id: int | None) -> frozenset[int]:
    """Accounts the viewer blocked, was blocked by, or muted (empty for a visitor). One round trip
    to the cache Redis when warm; else one query, written back for HIDDEN_ACCOUNTS_CACHE_SECONDS.
    Services drop the entry of both people after every block, unblock, mute and unmute commits
    (`forget_hidden`). Redis down: the query every time."""
    if viewer_id is None:
        return frozenset()
    key = _hidden_key(viewer_id)
    try:
        cached = cache.get(key)
    except (redis.RedisError, OSError):
        logger.warning("hidden accounts of %s: cache unreadable", viewer_id, exc_info=True)
        return _hidden_from_db(viewer_id)
    if cached is not None:
        return frozenset(cached)
    hidden = _hidden_from_db(viewer_id)
    try:
        cache.set(key, sorted(hidden), settings.HIDDEN_ACCOUNTS_CACHE_SECONDS)
    except (redis.RedisError, OSError):
        logger.warning("hidden accounts of %s: not cached", viewer_id, exc_info=True)
    return hidden


def without_hidden(viewer_id: int | None, people: list[User]) -> list[User]:
    """`people` minus the accounts hidden from the viewer (hidden_author_ids), in order: people
    search on the page and in the API. No query for a visitor or an empty list."""
    if viewer_id is None or not people:
        return people
    hidden = hidden_author_ids(viewer_id)
    return [person for person in people if person.pk not in hidden]


def excluded_actor_ids(recipient_id: int) -> frozenset[int]:
    """Whose actions must never notify `recipient_id` (blocked either way, or muted): the hook the
    notifications app calls. The same set as hidden_author_ids."""
    return hidden_author_ids(recipient_id)


# The hidden set as a subquery, `%(viewer)s` bound to the viewer's id: for a statement that must
# leave those accounts out in the same query (the unread badge count, notifications.selectors).
HIDDEN_IDS_SQL = f"""
    SELECT blocked_id FROM {Block._meta.db_table} WHERE blocker_id = %(viewer)s
    UNION SELECT blocker_id FROM {Block._meta.db_table} WHERE blocked_id = %(viewer)s
    UNION SELECT muted_id FROM {Mute._meta.db_table} WHERE muter_id = %(viewer)s
"""  # noqa: S608 (table names from the models, values bound)


def _hidden_from_db(viewer_id: int) -> frozenset[int]:
    with connection.cursor() as cursor:
        cursor.execute(HIDDEN_IDS_SQL, {"viewer": viewer_id})
        return frozenset(row[0] for row in cursor.fetchall())


def forget_hidden(*user_ids: int) -> None:
    """Drop the cached hidden sets (after the commit of a block, mute or their undoing), then the
    cached unread badge counts, which leave out the notifications of hidden accounts
    (tweethub.badges; counted again from the new set). Best effort: a failure leaves the old set
    for at most HIDDEN_ACCOUNTS_CACHE_SECONDS."""
    try:
        cache.delete_many([_hidden_key(user_id) for user_id in user_ids])
    except (redis.RedisError, OSError):
        logger.warning("could not drop the hidden accounts of %s", user_ids, exc_info=True)
    badges.forget(user_ids=user_ids)


@dataclass(frozen=True)
class Relation:
    """What a viewer's buttons on a profile need to know about that person."""

    blocking: bool = False  # the viewer blocked them
    blocked_by: bool = False  # they blocked the viewer
    muting: bool = False  # the viewer muted them


def relation(*, viewer_id: int | None, other_id: int) -> Relation:
    """One query (none for a visitor or oneself)."""
    if viewer_id is None or viewer_id == other_id:
        return Relation()
    sql = f"""
        SELECT
            EXISTS (SELECT 1 FROM {Block._meta.db_table} WHERE blocker_id = %s AND blocked_id = %s),
            EXISTS (SELECT 1 FROM {Block._meta.db_table} WHERE blocker_id = %s AND blocked_id = %s),
            EXISTS (SELECT 1 FROM {Mute._meta.db_table} WHERE muter_id = %s AND muted_id = %s)
    """  # noqa: S608 (table names from the models, values bound)
    with connection.cursor() as cursor:
        cursor.execute(sql, [viewer_id, other_id, other_id, viewer_id, viewer_id, other_id])
        blocking, blocked_by, muting = cursor.fetchone()
    return Relation(blocking=blocking, blocked_by=blocked_by, muting=muting)


def blocked_page(*, user_id: int, before: int | None, limit: int) -> Page[User, int]:
    """The accounts `user_id` blocked, newest block first (cursor: a Block id): one query."""
    rows = older_than(Block.objects.filter(blocker_id=user_id).select_related("blocked"), before=before, limit=limit)
    return rows.with_items([row.blocked for row in rows.items])


def muted_page(*, user_id: int, before: int | None, limit: int) -> Page[User, int]:
    """The accounts `user_id` muted, newest mute first (cursor: a Mute id): one query."""
    rows = older_than(Mute.objects.filter(muter_id=user_id).select_related("muted"), before=before, limit=limit)
    return rows.with_items([row.muted for row in rows.items])
