"""Likes and notifications for seeded sites (issue 21), made by Postgres itself in a few
statements (no row leaves the database): cheap at 1M tweets, and deterministic for a seed
(TABLESAMPLE ... REPEATABLE and setseed() for random()).

Proportions, as on a real site: most tweets get no like, a tweet's likes come from its author's
followers (so a popular author's tweets collect many), each follower liking a sampled tweet with a
small chance, some time after it was posted. Reposts get none (a like goes to the original: the
phase runs after adminpanel.seed.reposts). Counters (Tweet.like_count) are set from the rows in
the same transaction, as like_create keeps them.
"""

from __future__ import annotations

from django.db import connection, transaction

# Likes: (share of tweets that get any attention, in percent; chance a follower likes one of them).
DEMO_LIKES = (100.0, 0.25)
GRAPH_LIKES = (10.0, 0.04)

_LIKES_SQL = """
INSERT INTO tweets_like (user_id, tweet_id, created_at)
SELECT f.follower_id, t.id, least(now(), t.created_at + random() * interval '2 days')
FROM tweets_tweet t TABLESAMPLE BERNOULLI (%(percent)s) REPEATABLE (%(seed)s)
JOIN follows_follow f ON f.followee_id = t.author_id
WHERE t.author_id BETWEEN %(low)s AND %(high)s AND t.repost_of IS NULL AND random() < %(chance)s
ON CONFLICT (user_id, tweet_id) DO NOTHING
"""
_COUNT_SQL = """
UPDATE tweets_tweet t SET like_count = l.n
FROM (SELECT tweet_id, count(*) AS n FROM tweets_like GROUP BY tweet_id) l
WHERE t.id = l.tweet_id AND t.author_id BETWEEN %(low)s AND %(high)s AND t.like_count <> l.n
"""


def insert_likes(*, author_ids: list[int], percent: float, chance: float, seed: int) -> int:
    """Likes by their followers on tweets of `author_ids` (a block of ids reserved together, so a
    range), and their counters. Returns how many likes were written."""
    if not author_ids:
        return 0
    params = {"low": min(author_ids), "high": max(author_ids), "percent": percent, "chance": chance, "seed": seed}
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT setseed(%s)", [(seed % 1000) / 1000])
        cursor.execute(_LIKES_SQL, params)
        written = int(cursor.rowcount)
        cursor.execute(_COUNT_SQL, params)
    return written


# The demo account's notifications, as notifications.services.notify would have grouped them: its
# new followers in one group, each of its liked tweets' likers in one, each mention its own; the
# newest few unread, so
# the demo shows badges at once. Events first (one per like and follow), then the groups.
_DEMO_EVENTS_SQL = """
INSERT INTO notifications_notificationevent (recipient_id, actor_id, kind, object_id, created_at)
SELECT %(user)s, f.follower_id, 'follow', 0, f.created_at FROM follows_follow f WHERE f.followee_id = %(user)s
UNION ALL
SELECT %(user)s, l.user_id, 'like', l.tweet_id, l.created_at
FROM tweets_like l JOIN tweets_tweet t ON t.id = l.tweet_id
WHERE t.author_id = %(user)s AND l.user_id <> %(user)s
UNION ALL
SELECT %(user)s, t.author_id, 'mention', t.id, t.created_at FROM tweets_tweet t
WHERE t.mentions @> ARRAY[lower(%(username)s)]::varchar[] AND t.author_id <> %(user)s
ON CONFLICT ON CONSTRAINT notifications_event_once DO NOTHING
"""
_DEMO_GROUPS_SQL = """
INSERT INTO notifications_notification
    (recipient_id, kind, group_key, object_id, actor_ids, event_count, unread, seq, updated_at)
SELECT %(user)s, kind,
       CASE kind WHEN 'follow' THEN 'follow' WHEN 'like' THEN 'like:' || object_id
                 ELSE kind || ':' || object_id || ':' || min(actor_id) END,
       object_id,
       (array_agg(actor_id ORDER BY created_at DESC))[1:3], count(*), false, nextval('notifications_seq'),
       max(created_at)
FROM notifications_notificationevent WHERE recipient_id = %(user)s
GROUP BY kind, object_id
ORDER BY max(created_at)
"""
_DEMO_UNREAD_SQL = """
UPDATE notifications_notification SET unread = true
WHERE id IN (SELECT id FROM notifications_notification WHERE recipient_id = %(user)s ORDER BY seq DESC LIMIT 3)
"""


def insert_demo_notifications(*, user_id: int, username: str) -> int:
    """The demo account's notifications (follows, likes and mentions it got); returns how many groups."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_DEMO_EVENTS_SQL, {"user": user_id, "username": username})
        cursor.execute(_DEMO_GROUPS_SQL, {"user": user_id})
        groups = int(cursor.rowcount)
        cursor.execute(_DEMO_UNREAD_SQL, {"user": user_id})
    return groups
