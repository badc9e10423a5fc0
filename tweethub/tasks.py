"""The outbox relay task (beat). Work that a committed change needs (fan-out, retraction,
backfill, mail delivery) is queued through tweethub.outbox, which cannot lose it."""

from __future__ import annotations

from celery import shared_task

from tweethub import outbox


@shared_task(ignore_result=True)
def outbox_relay_task() -> int:
    """Beat, every OUTBOX_RELAY_SECONDS: send the outbox rows the broker refused earlier."""
    return outbox.relay()
