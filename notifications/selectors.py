"""Reads of notifications: the page (grouped, cursor-paged), the unread badges, and the hook that
keeps excluded accounts out.

The badges are on every page a member opens, so they are cached in Redis (tweethub.badges: read in
the session's own round trip, dropped by every change) and counted in Postgres only on a miss, by
one SQL statement (`badge_counts_from_db`) that is never a COUNT(*) over a table that grows without
bound: each count reads at most BADGE_CAP + 1 rows of an index (the partial index of unread
notification groups; a member's conversations through the two inbox indexes), and the page shows
"99+" above BADGE_CAP.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection

from accounts.models import User
from follows import blocks
from notifications.models import Kind, Notification
from tweethub import badges
from tweethub.badges import BADGE_CAP as BADGE_CAP
from tweethub.badges import Counts as Badges
from tweethub.paging import Page, older_than
from tweets import cards as tweet_cards
from tweets.cards import TweetCard

# Each count is capped inside its subquery (LIMIT cap + 1), so the statement reads at most
# 3 x (BADGE_CAP + 1) index entries whatever the member's history. A group whose actors are all
# excluded (blocked either way, muted: follows.blocks) is not counted: the page does not show it
# either. The excluded set is a subquery here, so a miss of the cached counts is ONE query.
_BADGES_SQL = f"""
SELECT
  (SELECT count(*) FROM (
     SELECT 1 FROM notifications_notification
     WHERE recipient_id = %(viewer)s AND unread AND kind <> %(message)s
       AND NOT (actor_ids <@ ARRAY({blocks.HIDDEN_IDS_SQL}))
     LIMIT %(limit)s) AS n),
  (SELECT count(*) FROM (
     SELECT 1 FROM messaging_conversation
     WHERE user_low_id = %(viewer)s AND last_message_id > low_last_read_id
     LIMIT %(limit)s) AS low)
  + (SELECT count(*) FROM (
     SELECT 1 FROM messaging_conversation
     WHERE user_high_id = %(viewer)s AND last_message_id > high_last_read_id
     LIMIT %(limit)s) AS high)
"""  # noqa: S608 (a subquery of our own, values bound)


def badge_counts_from_db(user_id: int) -> Badges:
    """The member's unread notifications and unread conversations, each capped past BADGE_CAP:
    ONE query. (A sender's own message marks their side read, so only received messages count.)
    What tweethub.badges caches; pages call `badge_counts`."""
    params: dict[str, int | str] = {"viewer": user_id, "message": Kind.MESSAGE.value, "limit": BADGE_CAP + 1}
    with connection.cursor() as cursor:
        cursor.execute(_BADGES_SQL, params)
        notifications, messages = cursor.fetchone()
    return Badges(notifications=int(notifications), messages=min(int(messages), BADGE_CAP + 1))


def badge_counts(user_id: int) -> Badges:
    """The member's badge counts, from the cache Redis (one round trip when warm; on a miss the
    query above, stored for the next pages: tweethub.badges)."""
    return badges.counts(user_id)


def excluded_actor_ids(recipient_id: int) -> frozenset[int]:
    """Accounts whose actions must never notify `recipient_id`: those the recipient blocked or muted,
    and those who blocked the recipient (follows.blocks: cached per member, dropped on every
    change). `notify`, the page and the badge count all go through it."""
    return blocks.excluded_actor_ids(recipient_id)


@dataclass(frozen=True, slots=True)
class NotificationRow:
    """One notification as the page shows it: the group, its actors (newest first, those still
    active), and the tweet it is about (None for follows and messages, or when it was deleted)."""

    notification: Notification
    actors: list[User]
    tweet: TweetCard | None

    @property
    def others(self) -> int:
        """How many more than the named first actor ("Ana and 3 others")."""
        return max(self.notification.event_count - 1, 0)


def _rows(groups: list[Notification], *, recipient_id: int) -> list[NotificationRow]:
    actor_ids = {actor for group in groups for actor in group.actor_ids} - excluded_actor_ids(recipient_id)
    actors = {
        user.pk: user
        for user in User.objects.filter(pk__in=actor_ids, is_active=True).only("id", "username", "name", "avatar")
    }
    tweet_ids = [group.object_id for group in groups if group.kind not in (Kind.FOLLOW, Kind.MESSAGE)]
    tweets = tweet_cards.cards_for(tweet_ids, variant="list") if tweet_ids else {}
    rows: list[NotificationRow] = []
    for group in groups:
        shown = [actors[actor] for actor in group.actor_ids if actor in actors]
        tweet = tweets.get(group.object_id) if group.kind not in (Kind.FOLLOW, Kind.MESSAGE) else None
        if not shown or (tweet is None and group.kind not in (Kind.FOLLOW, Kind.MESSAGE)):
            continue  # every actor gone or excluded, or the tweet deleted: nothing left to tell
        rows.append(NotificationRow(notification=group, actors=shown, tweet=tweet))
    return rows


def notifications_page(*, user_id: int, before: int | None, limit: int) -> Page[NotificationRow, int]:
    """The member's notifications, the most recently changed group first, older than the cursor
    (?before=<seq>). A constant number of queries and round trips whatever the page's size: one
    for the groups, one for their actors, and the tweets' cards (one Redis round trip, plus one
    query for the cards it misses)."""
    page = older_than(Notification.objects.filter(recipient_id=user_id), before=before, limit=limit, key="seq")
    return page.with_items(_rows(page.items, recipient_id=user_id))


def newest_seq(user_id: int) -> int:
    """The newest notification's seq (0 for none): what "mark all read" on a page marks up to."""
    seq = Notification.objects.filter(recipient_id=user_id).order_by("-seq").values_list("seq", flat=True).first()
    return int(seq or 0)
