"""Writes of notifications: `notify` (one event, grouped) and `notifications_mark_all_read`.

Nothing below this app imports it (the layer contract): tweets, follows and messaging queue
`notifications.tasks.notify_task` by name through the outbox (tweethub.outbox) in the transaction of
the action, so a notification is written only after that action committed, and is not lost when the
broker is down (the relay sends it later). The task calls `notify`, which is idempotent: the outbox
delivers at least once.

Adding a kind (repost, quote; reply is done: tweets.services) is one `outbox.enqueue("notifications.tasks.notify_task",
"<kind>", actor_id, recipient_id, tweet_id)` where the action is written, plus its sentence in
templates/notifications/_notification.html; grouping is decided by `_group_key` below.
"""

from __future__ import annotations

import logging

from django.db import connection, transaction
from django.db.models.functions import Lower

from accounts.models import User
from notifications.models import Kind, Notification
from notifications.selectors import badge_counts, excluded_actor_ids
from tweethub import badges, realtime

logger = logging.getLogger(__name__)

# Actors a group keeps by id (newest first); the page names the first and counts the others.
ACTORS_KEPT = 3
# The live event that carries fresh badge counts to every open page of the recipient.
EVENT_BADGES = "badges"


def _group_key(*, kind: str, actor_id: int, object_id: int) -> str:
    """Where Twitter groups: likes and reposts per tweet, follows all together; a mention, a reply
    or a quote is its own notification; direct messages per sender."""
    if kind in (Kind.LIKE, Kind.REPOST):
        return f"{kind}:{object_id}"
    if kind == Kind.FOLLOW:
        return "follow"
    if kind == Kind.MESSAGE:
        return f"message:{actor_id}"
    return f"{kind}:{object_id}:{actor_id}"


# One statement: record the event once; only when it is new, join the recipient's unread group of
# the key (the partial unique index is the ON CONFLICT target) or open one. Two workers notifying
# the same group at once serialise on the group's row (the upsert), so no actor is lost or counted
# twice. Returns the group's id when something changed.
_NOTIFY_SQL = """
WITH event AS (
    INSERT INTO notifications_notificationevent (recipient_id, actor_id, kind, object_id, created_at)
    VALUES (%(recipient)s, %(actor)s, %(kind)s, %(object)s, now())
    ON CONFLICT ON CONSTRAINT notifications_event_once DO NOTHING
    RETURNING id
)
INSERT INTO notifications_notification AS n
    (recipient_id, kind, group_key, object_id, actor_ids, event_count, unread, seq, updated_at)
SELECT %(recipient)s, %(kind)s, %(key)s, %(object)s, ARRAY[%(actor)s]::bigint[], 1, true,
       nextval('notifications_seq'), now()
FROM event
ON CONFLICT (recipient_id, group_key) WHERE unread DO UPDATE SET
    actor_ids = (ARRAY[EXCLUDED.actor_ids[1]] || array_remove(n.actor_ids, EXCLUDED.actor_ids[1]))[1:%(kept)s],
    event_count = n.event_count + 1,
    object_id = EXCLUDED.object_id,
    seq = nextval('notifications_seq'),
    updated_at = now()
RETURNING id
"""


def notify(*, kind: str, actor_id: int, recipient_id: int, object_id: int = 0) -> bool:
    """Tell `recipient_id` that `actor_id` did `kind` (to tweet or message `object_id`).

    Never for one's own actions, never to or from an inactive account, never from an account the
    recipient excludes (`selectors.excluded_actor_ids`: blocked or muted, once those exist).
    Idempotent: the same event twice changes nothing. Returns whether a notification was written;
    then, after commit, the recipient's open pages get fresh badge counts (best effort: a page
    that misses it shows the right counts on its next load)."""
    if kind not in Kind.values:
        raise ValueError(f"unknown notification kind {kind!r}")
    if actor_id == recipient_id:
        return False
    active = set(User.objects.filter(pk__in=[actor_id, recipient_id], is_active=True).values_list("pk", flat=True))
    if active != {actor_id, recipient_id} or actor_id in excluded_actor_ids(recipient_id):
        return False
    params: dict[str, int | str] = {
        "recipient": recipient_id,
        "actor": actor_id,
        "kind": kind,
        "object": object_id,
        "key": _group_key(kind=kind, actor_id=actor_id, object_id=object_id),
        "kept": ACTORS_KEPT,
    }
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_NOTIFY_SQL, params)
        written = cursor.fetchone() is not None
        if written:
            transaction.on_commit(lambda: badges_changed(user_id=recipient_id), robust=True)
    return written


def notify_mentions(*, author_id: int, tweet_id: int, usernames: list[str], replied_to: int | None = None) -> int:
    """Notify each active account a tweet mentions (lower-cased usernames, as tweets.parsing stores
    them), the author never, nor `replied_to` (the author a reply answers: told once, by its "reply"
    notification, not again for naming them). A mention of an account with a block either way was
    never stored (tweets.services); `notify` leaves out muted and blocking accounts again, for the
    blocks made since. One query for the accounts; returns how many were notified."""
    if not usernames:
        return 0
    mentioned = (
        User.objects.annotate(lusername=Lower("username"))
        .filter(lusername__in=usernames, is_active=True)
        .exclude(pk__in=[author_id] if replied_to is None else [author_id, replied_to])
        .values_list("pk", flat=True)
    )
    return sum(
        notify(kind=Kind.MENTION, actor_id=author_id, recipient_id=recipient, object_id=tweet_id)
        for recipient in mentioned
    )


def notifications_mark_all_read(*, user: User, up_to: int | None = None) -> int:
    """Mark the user's own unread notifications read (only theirs: the recipient is the filter),
    those with seq <= `up_to` when given (what the page showed: a notification arriving meanwhile
    stays unread). Idempotent; returns how many changed. Their other open pages get the new counts."""
    rows = Notification.objects.filter(recipient_id=user.pk, unread=True)
    if up_to is not None:
        rows = rows.filter(seq__lte=up_to)
    with transaction.atomic():
        changed = rows.update(unread=False)
        if changed:
            user_id = user.pk
            transaction.on_commit(lambda: badges_changed(user_id=user_id), robust=True)
    return changed


def badges_changed(*, user_id: int) -> None:
    """After the commit of a change to the user's unread notifications: their cached counts go
    (tweethub.badges), then their open pages get the new ones (which counts them again, once)."""
    badges.forget(user_ids=[user_id])
    badges_push(user_id=user_id)


def badges_push(*, user_id: int) -> None:
    """Send the user's current badge counts to their open pages (static/js/badges.js). Call after
    the commit that changed them (a direct message's notification task also calls it, so the
    messages badge moves on every page while the reader is elsewhere)."""
    counts = badge_counts(user_id)
    realtime.send_now(event=EVENT_BADGES, payload=counts.as_payload(), user_ids=[user_id])
