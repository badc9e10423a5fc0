"""Writes of the admin panel app."""

from __future__ import annotations

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from adminpanel.models import WorkerHeartbeat


def heartbeat_record(*, worker: str) -> WorkerHeartbeat:
    """Record that `worker` is alive now. Idempotent per call; safe under concurrent workers
    (the row is created once, then updated with an atomic increment)."""
    now = timezone.now()
    with transaction.atomic():
        beat, created = WorkerHeartbeat.objects.select_for_update().get_or_create(
            worker=worker, defaults={"last_seen": now, "beats": 1}
        )
        if not created:
            WorkerHeartbeat.objects.filter(pk=beat.pk).update(last_seen=now, beats=F("beats") + 1)
            beat.refresh_from_db(fields=["last_seen", "beats"])
    return beat
