"""Answers computed the plain way, to compare the site's clever paths against."""

from __future__ import annotations

from django.db import connection


def home_timeline_oracle(user_id: int) -> list[int]:
    """The home timeline as plain SQL: own and followees' tweets, newest first, none by a
    suspended (inactive) account. Written out by hand rather than through our querysets, so a bug
    there cannot hide in both answers."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT t.id FROM tweets_tweet t
            JOIN accounts_user a ON a.id = t.author_id AND a.is_active
            WHERE t.author_id = %s
               OR t.author_id IN (SELECT followee_id FROM follows_follow WHERE follower_id = %s)
            ORDER BY t.id DESC
            """,
            [user_id, user_id],
        )
        return [row[0] for row in cursor.fetchall()]
