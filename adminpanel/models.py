from __future__ import annotations

from django.db import models


class WorkerHeartbeat(models.Model):
    """The last time each Celery worker ran the periodic heartbeat task.

    Written by a real task that went through the broker and a worker into Postgres, so a fresh row
    proves the whole background pipeline works, not just that a process is alive.
    """

    worker = models.CharField(max_length=255, unique=True)
    last_seen = models.DateTimeField()
    beats = models.PositiveBigIntegerField(default=0)

    class Meta:
        ordering = ["-last_seen"]

    def __str__(self) -> str:
        return f"{self.worker} @ {self.last_seen:%Y-%m-%d %H:%M:%S}"


# What a purge removes, in the order the panel and the command list it: (key in PurgeRun.counts, label).
PURGE_KINDS: tuple[tuple[str, str], ...] = (
    ("users", "users (non-staff)"),
    ("tweets", "tweets"),
    ("follows", "follows"),
    ("blocks", "blocks"),
    ("mutes", "mutes"),
    ("conversations", "conversations"),
    ("messages", "messages"),
    ("likes", "likes"),
    ("bookmarks", "bookmarks"),
    ("notifications", "notifications"),
    ("notification_events", "notification events"),
    ("mails", "captured mails"),
    ("avatars", "avatar files"),
    ("redis_keys", "Redis keys"),
)


class PurgeRun(models.Model):
    """One run of the demo purge (adminpanel.services.purge_demo_data), real or dry.

    Written when the run starts (status "running") and again when it ends, so the panel can show a
    purge in progress and one that died half-way. `counts` maps each PURGE_KINDS key to what was
    removed, or for a dry run to what would have been.
    """

    class Status(models.TextChoices):
        RUNNING = "running", "running"
        DONE = "done", "done"
        FAILED = "failed", "failed"

    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    dry_run = models.BooleanField(default=False)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    counts = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        # One row a night: no index needed to find the newest.
        ordering = ["-started_at"]

    def __str__(self) -> str:
        kind = "dry run" if self.dry_run else "purge"
        return f"{kind} {self.started_at:%Y-%m-%d %H:%M:%S} ({self.status})"

    def count_items(self) -> list[tuple[str, int]]:
        """(label, count) in PURGE_KINDS order, for templates: jsonb does not keep key order."""
        return [(label, int(self.counts.get(key, 0))) for key, label in PURGE_KINDS]

    @property
    def removed_total(self) -> int:
        return sum(int(value) for value in self.counts.values())
