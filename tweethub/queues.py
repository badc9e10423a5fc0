"""The Celery queues and which task goes to which (plain data: the settings and tweethub.celery read it).

One queue held everything before issue 20, so a 100K-follower fan-out, a demotion backfill or the
flood of feed rebuilds that follows a Redis flush delayed every small fan-out queued behind it.
Work is now split by what it costs and how urgent it is, and the Procfile runs a worker per group
of queues (docs/architecture.md, "Queues"):

- `fanout`: what a reader waits to see, small and quick: fan-outs of authors with at most
  FANOUT_LARGE_THRESHOLD followers, retractions and deletions, own-feed pushes;
- `fanout_large`: fan-outs of bigger audiences, split into follower-range chunks
  (timelines.tasks.fanout_chunk_task) that workers run side by side;
- `rebuild`: repairs and backfills, bulky and rate limited: follow backfills, unfollow clean-ups,
  feed and author-list rebuilds, celebrity demotions;
- `mail`: mail delivery (an SMTP server may be slow; nothing else waits on it);
- `default`: everything else: the outbox relay, heartbeats, sweeps, purges.

Routing is by task name (ROUTES), except `fanout_tweet_task`, which a router sends to `fanout` or
`fanout_large` by its author's follower count when it is published (timelines.routing).
"""

from __future__ import annotations

DEFAULT = "default"
FANOUT = "fanout"
FANOUT_LARGE = "fanout_large"
REBUILD = "rebuild"
MAIL = "mail"
NAMES = (DEFAULT, FANOUT, FANOUT_LARGE, REBUILD, MAIL)

# Task name -> queue. Tasks not named here go to DEFAULT (the relay, heartbeats, sweeps, purges, the
# fault tests' own tasks). fanout_tweet_task is routed by timelines.routing first (small or large).
ROUTES: dict[str, str] = {
    "timelines.tasks.fanout_tweet_task": FANOUT,  # timelines.routing sends the large ones elsewhere
    "timelines.tasks.fanout_chunk_task": FANOUT_LARGE,
    "timelines.tasks.retract_tweet_task": FANOUT,
    "timelines.tasks.feed_push_own_task": FANOUT,
    "timelines.tasks.feed_remove_task": FANOUT,
    "timelines.tasks.author_hide_task": FANOUT,
    "timelines.tasks.author_replies_restore_task": FANOUT,
    "timelines.tasks.feeds_drop_task": FANOUT,
    "timelines.tasks.follow_backfill_task": REBUILD,
    "timelines.tasks.unfollow_cleanup_task": REBUILD,
    "timelines.tasks.feed_rebuild_task": REBUILD,
    "timelines.tasks.author_list_rebuild_task": REBUILD,
    "timelines.tasks.celebrity_demote_task": REBUILD,
    "mailcatcher.tasks.deliver_mail_task": MAIL,
    "accounts.tasks.signup_mail_task": MAIL,
    "accounts.tasks.password_reset_mail_task": MAIL,
}
