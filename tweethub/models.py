from __future__ import annotations

from django.db import models
from django.db.models.functions import Now


class OutboxTask(models.Model):
    """A Celery task recorded in the same transaction as the change that needs it.

    The transactional outbox: a commit and its follow-up work (a fan-out, a retraction, a mail
    delivery) are saved together, so a broker that is down when the commit happens delays the
    work but cannot lose it. tweethub.outbox sends each row after commit and deletes it; rows the
    broker refused are sent again by the relay once it is back.
    """

    # The registered Celery task name, e.g. "timelines.tasks.fanout_tweet_task".
    task = models.CharField(max_length=200)
    # Positional arguments: ids and short strings only (JSON).
    args = models.JSONField(default=list)
    created_at = models.DateTimeField(db_default=Now())
    # Failed relay attempts so far (for the admin panel and logs; rows are never given up on).
    attempts = models.PositiveIntegerField(default=0, db_default=0)

    def __str__(self) -> str:
        return f"{self.task}{tuple(self.args)}"
