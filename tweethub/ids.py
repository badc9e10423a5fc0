"""Tweet ids: 53-bit, time-sortable, made by Postgres (see migration 0001 for tweets_next_id()).

    id = (milliseconds since 2024-01-01 UTC) << 12  |  (sequence mod 4096)

Ids sort by creation time, so they serve as Redis sorted-set scores and as page cursors. 53 bits
on purpose: a Redis score is a double (exact up to 2**53) and so is a JavaScript number, so the id
survives both unchanged. 41 bits of milliseconds last until 2093; 4096 ids per millisecond per
database is far beyond any write rate we will see.
"""

from __future__ import annotations

from datetime import UTC, datetime

EPOCH = datetime(2024, 1, 1, tzinfo=UTC)
EPOCH_MS = int(EPOCH.timestamp() * 1000)
SEQUENCE_BITS = 12
MAX_ID = (1 << 53) - 1


def id_for_time(moment: datetime, sequence: int = 0) -> int:
    """The id a tweet created at `moment` gets (used to seed history and to page by time)."""
    ms = int(moment.timestamp() * 1000) - EPOCH_MS
    return (ms << SEQUENCE_BITS) | (sequence % (1 << SEQUENCE_BITS))


def time_of_id(tweet_id: int) -> datetime:
    ms = (tweet_id >> SEQUENCE_BITS) + EPOCH_MS
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


NEXT_ID_SQL = f"""
CREATE SEQUENCE IF NOT EXISTS tweets_id_seq;
CREATE OR REPLACE FUNCTION tweets_next_id() RETURNS bigint LANGUAGE sql VOLATILE AS $$
  SELECT ((floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint - {EPOCH_MS}) << {SEQUENCE_BITS})
         | (nextval('tweets_id_seq') % {1 << SEQUENCE_BITS})
$$;
"""  # noqa: S608 - built from our own constants, no input
DROP_NEXT_ID_SQL = "DROP FUNCTION IF EXISTS tweets_next_id(); DROP SEQUENCE IF EXISTS tweets_id_seq;"
