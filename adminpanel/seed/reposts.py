"""Reposts and quote posts for both seeds (issue 21), in a phase of their own after the replies, made
by Postgres itself in a few set-based statements over the tweets just loaded (no row leaves the
database), like the replies of seed_data (adminpanel.seed.replies) and the likes (engagement).

A share of the loaded tweets that start nothing (not replies, nobody answered them, not pinned)
become reposts or quotes of a tweet posted before them by someone their author follows: a repost
keeps its row's id and time (time-sortable like every id, tweethub.ids) and loses its text, as
tweets.reposts.repost_create writes one (`repost_of`, `repost_of_author`, empty text, tags and
mentions); a quote keeps its text and gains `quote_of`. The tweet count the caller asked for is
unchanged. What the services guarantee is guaranteed by construction and checked by
tests/adminpanel/test_seed_reposts.py:

- the original is older than the repost (a smaller id) and is itself no repost; nobody reposts
  their own tweet here; one repost per person and tweet (tweets_one_repost_per_user);
- `repost_count` of every tweet equals its reposts; the authors' tweet counters
  (accounts_userstats.tweets) leave reposts out, as repost_create does;
- the reposter follows the original's author (reposts come from followers, as on a real site).

Feeds are built afterwards by the seeds' usual feeds_bulk_build, which reconciles the feeds that
hold reposts (the de-duplication rule), so the seeded feeds equal Tweet.timeline_of and the oracle.
Likes come after this phase and leave reposts out (engagement).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction

from adminpanel.seed.loading import _load_settings
from tweethub.ids import SEQUENCE_BITS

# Shares of the loaded tweets TRIED as reposts and as quotes. Some tries find no earlier tweet to
# share and stay plain: reposts end near 10% of the entries, quotes near 2-3% (measured by
# tests/adminpanel/test_seed_reposts.py), as on Twitter before 2023 where retweets were the
# largest kind of entry after original tweets.
GRAPH_SHARES = (0.24, 0.05)
DEMO_SHARES = (0.18, 0.035)
# The demo's first start must show someone's repost and a quote on Home (the random share does
# not always put one among its newest 20 entries): a second pass tries the newest
# DEMO_NEWEST_TRIED tweets of the people the demo account follows and keeps DEMO_NEWEST_EACH
# reposts and quotes (link_shares(newest_for=)): both show in 28 of 30 seeds measured.
DEMO_NEWEST_TRIED = 12
DEMO_NEWEST_EACH = 2
# How many followees a try looks at for a tweet to share, and how far back (an id distance: the
# bound is in the index scan). Longer than the de-duplication window (REPOST_DEDUP_SECONDS): an
# old tweet reposted shows again in the followers' feeds that already had it.
FOLLOWEES_TRIED = 6
SHARE_WINDOW_MS = 6 * 24 * 3600 * 1000


# A tweet naming someone reads oddly as the comment on another person's tweet: those become
# reposts, never quotes (`no_mention`).
_ELIGIBLE = """
    t.in_reply_to IS NULL AND t.reply_count = 0 AND t.repost_count = 0 AND NOT t.pinned
    AND t.repost_of IS NULL AND t.quote_of IS NULL AND t.author_id <> ALL(%(keep)s)
"""
_RANDOM_TRIES_SQL = f"""
    CREATE TEMPORARY TABLE seed_share_tries ON COMMIT DROP AS
    SELECT id, author_id, draw < %(quotes)s AND no_mention AS quote FROM (
        SELECT t.id, t.author_id, random() AS draw, cardinality(t.mentions) = 0 AS no_mention
        FROM tweets_tweet t JOIN seed_share_authors a ON a.id = t.author_id WHERE {_ELIGIBLE}
    ) d WHERE draw < %(tries)s
"""  # noqa: S608 (a constant fragment, values bound)
_NEWEST_TRIES_SQL = f"""
    CREATE TEMPORARY TABLE seed_share_tries ON COMMIT DROP AS
    SELECT id, author_id, mod(row_number() OVER (ORDER BY id DESC), 2) = 0 AND no_mention AS quote FROM (
        SELECT t.id, t.author_id, cardinality(t.mentions) = 0 AS no_mention
        FROM tweets_tweet t JOIN seed_share_authors a ON a.id = t.author_id
        WHERE {_ELIGIBLE} AND t.author_id IN (SELECT followee_id FROM follows_follow WHERE follower_id = %(reader)s)
        ORDER BY t.id DESC LIMIT %(newest)s
    ) d
"""  # noqa: S608 (a constant fragment, values bound)


@dataclass(frozen=True)
class ShareStats:
    """What a seed's reposts phase made."""

    reposts: int
    quotes: int


def link_shares(
    author_ids: Sequence[int],
    *,
    shares: tuple[float, float],
    random_seed: int,
    keep_authors: Sequence[int] = (),
    newest_for: int | None = None,
) -> ShareStats:
    """Turn a share of these authors' tweets into reposts and quotes (see the module's text) in one
    transaction of set-based statements, then set repost counts and the authors' tweet counters.
    `keep_authors`: accounts whose tweets stay as written (the demo account's welcome).

    `newest_for` (a reader): instead of a random share, the newest tweets of the people the reader
    follows are tried, and the newest DEMO_NEWEST_EACH reposts and quotes made are kept, reposts
    of tweets older than the de-duplication window only (the rule never holds those back): the
    demo's first page of Home then shows both in nearly every draw (28 of 30 seeds measured). A
    second call goes over tweets the first left alone: what is shared already is neither tried
    nor repeated."""
    repost_share, quote_share = shares
    dedup_ids = (settings.REPOST_DEDUP_SECONDS * 1000) << SEQUENCE_BITS
    tries_sql = _RANDOM_TRIES_SQL if newest_for is None else _NEWEST_TRIES_SQL
    with transaction.atomic(), connection.cursor() as cursor:
        _load_settings(cursor)
        cursor.execute("SELECT setseed(%s)", [((random_seed + 500) % 1000) / 1000])
        cursor.execute(
            "CREATE TEMPORARY TABLE seed_share_authors ON COMMIT DROP AS SELECT unnest(%s::bigint[]) AS id",
            [list(author_ids)],
        )
        cursor.execute("ANALYZE seed_share_authors")
        # The tries: tweets that start nothing and that nothing points at yet.
        cursor.execute(
            tries_sql,
            {
                "quotes": quote_share,
                "tries": repost_share + quote_share,
                "keep": list(keep_authors),
                "reader": newest_for,
                "newest": DEMO_NEWEST_TRIED,
            },
        )
        cursor.execute("CREATE UNIQUE INDEX ON seed_share_tries (id)")
        cursor.execute("ANALYZE seed_share_tries")
        # What each try shares: a random earlier tweet (inside the window) among FOLLOWEES_TRIED
        # followees in a row from a random place in the follower's index entries (userstats holds
        # how many they follow; counted here when the seed writes counters after this phase),
        # never one that is itself a try (no repost of a repost); a quote comments a tweet that
        # starts something, not a reply inside someone's conversation.
        cursor.execute(
            """
            CREATE TEMPORARY TABLE seed_share_links ON COMMIT DROP AS
            SELECT DISTINCT ON (r.id) r.id, r.author_id, r.quote, p.id AS original, p.author_id AS original_author
            FROM seed_share_tries r
            LEFT JOIN accounts_userstats s ON s.user_id = r.author_id
            CROSS JOIN LATERAL (
                SELECT coalesce(s.following, (SELECT count(*) FROM follows_follow c WHERE c.follower_id = r.author_id))
                    AS following
            ) n
            CROSS JOIN LATERAL (
                SELECT f.followee_id FROM follows_follow f WHERE f.follower_id = r.author_id
                ORDER BY f.followee_id
                OFFSET floor(random() * greatest(n.following - %(tried)s, 0))::int LIMIT %(tried)s
            ) who
            JOIN LATERAL (
                SELECT t.id, t.author_id FROM tweets_tweet t
                WHERE t.author_id = who.followee_id AND t.id > r.id - %(window)s
                  AND t.id < r.id - CASE WHEN r.quote THEN 0 ELSE %(older)s END
                  AND t.repost_of IS NULL AND (NOT r.quote OR t.in_reply_to IS NULL)
                  AND NOT EXISTS (SELECT 1 FROM seed_share_tries x WHERE x.id = t.id)
                ORDER BY t.id DESC LIMIT 3
            ) p ON true
            WHERE p.author_id <> r.author_id
            ORDER BY r.id, random()
            """,
            {
                "tried": FOLLOWEES_TRIED,
                "window": SHARE_WINDOW_MS << SEQUENCE_BITS,
                "older": 0 if newest_for is None else dedup_ids,
            },
        )
        # One repost per person and tweet: the earliest stays, the others stay plain tweets.
        cursor.execute(
            """
            DELETE FROM seed_share_links l USING seed_share_links m
            WHERE NOT l.quote AND NOT m.quote AND l.author_id = m.author_id AND l.original = m.original
              AND l.id > m.id
            """
        )
        cursor.execute(
            """
            DELETE FROM seed_share_links l WHERE NOT l.quote
              AND EXISTS (SELECT 1 FROM tweets_tweet t WHERE t.author_id = l.author_id AND t.repost_of = l.original)
            """
        )
        if newest_for is not None:
            cursor.execute(
                """
                DELETE FROM seed_share_links WHERE id NOT IN (SELECT id FROM (
                    SELECT id, row_number() OVER (PARTITION BY quote ORDER BY id DESC) AS n FROM seed_share_links
                ) k WHERE n <= %s)
                """,
                [DEMO_NEWEST_EACH],
            )
        cursor.execute(
            """
            UPDATE tweets_tweet t SET repost_of = l.original, repost_of_author_id = l.original_author,
                text = '', tags = '{}', mentions = '{}'
            FROM seed_share_links l WHERE t.id = l.id AND NOT l.quote
            """
        )
        cursor.execute(
            "UPDATE tweets_tweet t SET quote_of = l.original FROM seed_share_links l WHERE t.id = l.id AND l.quote"
        )
        cursor.execute(
            """
            UPDATE tweets_tweet p SET repost_count = p.repost_count + c.n
            FROM (SELECT original, count(*) AS n FROM seed_share_links WHERE NOT quote GROUP BY 1) c
            WHERE p.id = c.original
            """
        )
        # Counters already written (seed_data counts before this phase): a repost is no tweet of
        # its author's (repost_create leaves UserStats.tweets alone). insert_stats counts the same.
        cursor.execute(
            """
            UPDATE accounts_userstats s SET tweets = s.tweets - c.n
            FROM (SELECT author_id, count(*) AS n FROM seed_share_links WHERE NOT quote GROUP BY 1) c
            WHERE s.user_id = c.author_id
            """
        )
        cursor.execute("SELECT count(*) FILTER (WHERE NOT quote), count(*) FILTER (WHERE quote) FROM seed_share_links")
        reposts, quotes = cursor.fetchone()
        # Now, not at commit: the caller's transaction may go on (the demo runs this twice in one).
        cursor.execute("DROP TABLE seed_share_links, seed_share_tries, seed_share_authors")
    return ShareStats(reposts=int(reposts), quotes=int(quotes))
