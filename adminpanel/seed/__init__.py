"""Synthetic data: a large realistic social graph (seed_graph) and a small lived-in demo site (seed_demo).

Both ADD rows to whatever the database holds and load them the same way: psycopg COPY straight
into the tables, one transaction per phase, then exact counters in one INSERT ... SELECT, then the
derived Redis state (home feeds of active users, trend counts). Nothing goes through the services:
a 100K-user graph would take hours one follow at a time. What the services would guarantee is
guaranteed here by construction, and checked by tests/adminpanel/test_seed.py:

- tweet ids are time-sortable exactly like real ones (tweethub.ids.id_for_time of created_at), unique,
  and every created_at is in the past;
- `tags` and `mentions` are what tweets.parsing finds in the text (the parser is called, not
  re-implemented);
- counters equal COUNT(*); accounts over CELEBRITY_THRESHOLD followers start in pull mode (the rule
  of accounts.services.fanout_mode_after_follower_change: more followers than the threshold);
- feeds equal what timelines.services.feed_rebuild would build (feeds_bulk_build).

Preconditions: nothing else writes feeds while it runs (no fan-out for these tweets is queued:
they are history). Not atomic as a whole: a failure leaves the phases already committed. A big
load locks follows_follow while it rebuilds the indexes it would fill in random order (see
copy_follows); foreign keys are checked row by row as always.

Modules: common (constants, reports, progress), loading (COPY), text (vocabulary), places
(positions), shape (what seed_graph draws), graph (seed_graph, phase by phase), personas (the demo
site's people and what they write), demo (seed_demo, phase by phase).
"""

from __future__ import annotations

from adminpanel.seed.common import DEMO_PASSWORD, DEMO_USERNAME, SEED_PASSWORD, DemoReport, SeedError, SeedReport
from adminpanel.seed.demo import seed_demo
from adminpanel.seed.graph import seed_graph
from adminpanel.seed.loading import INDEX_REBUILD_MIN_ROWS, parsed

__all__ = [
    "DEMO_PASSWORD",
    "DEMO_USERNAME",
    "INDEX_REBUILD_MIN_ROWS",
    "SEED_PASSWORD",
    "DemoReport",
    "SeedError",
    "SeedReport",
    "parsed",
    "seed_demo",
    "seed_graph",
]
