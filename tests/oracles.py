"""Answers computed the plain way, to compare the site's clever paths against."""

from __future__ import annotations

from django.db import connection


def home_timeline_oracle(user_id: int) -> list[int]:
    """The home timeline as plain SQL, newest first, none by a suspended (inactive) account:
      - the reader's own tweets, replies included;
      - followees' tweets, under the reply rule (Twitter's and Mastodon's): a reply to someone else
        shows only if the reader follows that person too, or is that person; a self-thread (a reply
        to oneself) always shows;
      - minus tweets by accounts the reader muted, and replies to them.
    Blocks need no clause of their own: a block removes follows both ways and refuses new ones.
    Written out by hand rather than through our querysets, so a bug there cannot hide in both
    answers."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT t.id FROM tweets_tweet t
            JOIN accounts_user a ON a.id = t.author_id AND a.is_active
            WHERE t.author_id = %(u)s
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
            ORDER BY t.id DESC
            """,
            {"u": user_id},
        )
        return [row[0] for row in cursor.fetchall()]
