"""The capacity model's assumptions, named so a reviewer can argue with each one."""

from __future__ import annotations

from pathlib import Path

SIZES = (1_000_000, 100_000_000)  # registered users modelled
ACTIVE_SHARE = 0.8  # seed_data's --inactive-share default is 0.2: 80% seen within ACTIVE_DAYS
AVG_FOLLOWS = 50  # mean follows per user, as `make bench` seeds (bench/core.py FULL; seed_data's default is 20)
OUT_DEGREE_SHAPE = 1.5  # gamma shape of out-degrees (shape.draw_out_degrees)
ZIPF_OFFSET = 3  # popularity weight 1 / (rank + ZIPF_OFFSET) (shape.draw_popularity)
TWEETS_PER_ACTIVE_USER_PER_DAY = 2.0  # authors taken uniformly among active users (seed skews to the popular)
FOLLOWS_PER_ACTIVE_USER_PER_DAY = 0.5  # new follow edges
HOME_VIEWS_PER_ACTIVE_USER_PER_DAY = 10.0  # logged-in GET / (each one full page render)
PEAK_TO_AVERAGE = 3.0  # the busiest hour's rate over the day's mean rate
# Settings mirrored here (tweethub/settings/feeds.py defaults) so the document does not depend on the
# environment it is generated in; tests/bench/test_capacity.py checks they still match.
TIMELINE_LENGTH = 80  # ids a feed keeps (plus TIMELINE_SLACK before a trim)
CELEBRITY_THRESHOLD = 10_000  # followers at which an author switches to pull mode (no push fan-out)
CARD_CACHE_SECONDS = 2 * 86_400  # how long a tweet's cached row stays in Redis (written on create)
# Fallbacks, used only for a results file from before the postgres section measured writes per tweet and
# per follow (the document then says so): rows counted from the services (a row written then deleted
# counts twice), WAL guessed per row.
ROWS_PER_TWEET = 4  # tweets_tweet insert, userstats counter update, outbox insert + relay delete
ROWS_PER_FOLLOW = 5  # follows_follow insert, 2 counter updates, outbox insert + relay delete
WAL_BYTES_PER_ROW = 250  # record header + tuple + one or two index entries; full-page images not counted
ROWS_PER_FOLLOW_TXN_IN_BENCH = 4  # the postgres bench's churn transaction: follow row, 2 counters, outbox row
# One box = this machine: 2 cores, 24 GiB (FACTS.md); CPU figures are in cores of it.
BOX_CORES = 2
REDIS_BOX_MEMORY_GIB = 16.0  # of the 24 GiB, leaving room for a fork's copy-on-write during a save
REDIS_CORE_BUDGET = 0.7  # Redis is single-threaded: plan one server per 0.7 of a core
CORE_BUDGET = 0.7  # web and worker boxes planned at 70% CPU at the peak
PG_BUDGET = 0.7  # the Postgres primary planned at 70% of the measured write rate
DAY = 86_400
DOC = Path("docs/capacity.md")
