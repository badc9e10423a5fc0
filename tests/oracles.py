"""Answers computed the plain way, to compare the site's clever paths against."""

from __future__ import annotations

from django.conf import settings
from django.db import connection

from tweethub.ids import SEQUENCE_BITS


def home_timeline_oracle(user_id: int) -> list[int]:
    """The home timeline as plain SQL, newest first, none by a suspended (inactive) account.
    The ENTRIES are:
      - the reader's own tweets (replies included) and own reposts;
      - followees' tweets, under the reply rule (Twitter's and Mastodon's): a reply to someone else
        shows only if the reader follows that person too, or is that person; a self-thread (a reply
        to oneself) always shows; followees' reposts;
      - minus tweets by accounts the reader muted, and replies to them;
      - minus reposts of a tweet whose author the reader muted, blocked or was blocked by, or whose
        author is suspended.
    The TIMELINE is the entries minus the reposts the de-duplication rule holds back: a repost R of
    tweet O is left out when another entry about O (O itself, or another repost of O) is among the
    entries with an id in [R.id - W, R.id), W = REPOST_DEDUP_SECONDS in id units. Entries count
    whether shown or not, so the rule does not recurse.
    Blocks between the reader and an author need no clause of their own: a block removes follows
    both ways and refuses new ones. Written out by hand rather than through our querysets, so a bug
    there cannot hide in both answers."""
    window = settings.REPOST_DEDUP_SECONDS * 1000 << SEQUENCE_BITS
    with connection.cursor() as cursor:
        cursor.execute(
            """
            WITH entries AS (
                SELECT t.id, t.repost_of FROM tweets_tweet t
                JOIN accounts_user a ON a.id = t.author_id AND a.is_active
                WHERE (
                    t.author_id = %(u)s
                    OR (
                        t.author_id IN (SELECT followee_id FROM follows_follow WHERE follower_id = %(u)s)
                        AND (
                            t.reply_to_author_id IS NULL
                            OR t.reply_to_author_id = t.author_id
                            OR t.reply_to_author_id = %(u)s
                            OR t.reply_to_author_id IN (SELECT followee_id FROM follows_follow WHERE follower_id = %(u)s)
                        )
                        AND t.author_id NOT IN (SELECT muted_id FROM follows_mute WHERE muter_id = %(u)s)
                        AND (
                            t.reply_to_author_id IS NULL
                            OR t.reply_to_author_id NOT IN (SELECT muted_id FROM follows_mute WHERE muter_id = %(u)s)
                        )
                    )
                )
                AND (
                    t.repost_of IS NULL
                    OR (
                        t.repost_of_author_id NOT IN (SELECT muted_id FROM follows_mute WHERE muter_id = %(u)s)
                        AND t.repost_of_author_id NOT IN (SELECT blocked_id FROM follows_block WHERE blocker_id = %(u)s)
                        AND t.repost_of_author_id NOT IN (SELECT blocker_id FROM follows_block WHERE blocked_id = %(u)s)
                        AND t.repost_of_author_id IN (SELECT id FROM accounts_user WHERE is_active)
                    )
                )
            )
            SELECT r.id FROM entries r
            WHERE r.repost_of IS NULL OR NOT EXISTS (
                SELECT 1 FROM entries e
                WHERE (e.id = r.repost_of OR e.repost_of = r.repost_of)
                  AND e.id < r.id AND e.id >= r.id - %(w)s
            )
            ORDER BY r.id DESC
            """,
            {"u": user_id, "w": window},
        )
        return [row[0] for row in cursor.fetchall()]
