"""Thin tasks of the tweets app, reached by name from the apps below it (tweethub.outbox)."""

from __future__ import annotations

from celery import shared_task

from tweets import cards


@shared_task
def likes_uncounted_task(*tweet_ids: int) -> None:
    """Run in the web process after an account's deletion took its likes out of these tweets'
    counters (accounts.services.deletion, tweethub.outbox.run_after_commit): their cards' cached
    counts go, refilled from Postgres by the next read. Best effort (the card's TTL bounds it)."""
    cards.likes_changed(tweet_ids=list(tweet_ids))
