"""The outbox refuses a task name that is not a Celery task when the row is written, and every name
the code queues is a real task (so a typo fails here, not in a worker after the user's commit)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.db import transaction

from tweethub import outbox
from tweethub.models import OutboxTask

ROOT = Path(__file__).resolve().parents[2]
# outbox.enqueue("module.tasks.name", ...) or run_after_commit(...), and follows' helper that prefixes timelines.tasks.
QUEUED = re.compile(r'outbox\.(?:enqueue|run_after_commit)\(\s*f?"([\w.{}]+)"')
FOLLOWS_QUEUED = re.compile(r'_queue\(\s*"(\w+)"')


def _queued_names() -> set[str]:
    names: set[str] = set()
    for path in ROOT.glob("*/**/*.py"):
        if path.relative_to(ROOT).parts[0] in {"tests", ".venv", "bench", ".local", "node_modules"}:
            continue
        source = path.read_text()
        names |= {name for name in QUEUED.findall(source) if "{" not in name}
        if path.as_posix().endswith("follows/services.py"):
            names |= {f"timelines.tasks.{name}" for name in FOLLOWS_QUEUED.findall(source)}
    return names


def test_every_name_the_code_queues_is_a_celery_task() -> None:
    names = _queued_names()
    # The scan works, in modules and in packages' modules alike.
    assert {
        "timelines.tasks.fanout_tweet_task",
        "timelines.tasks.follow_backfill_task",
        "timelines.tasks.feeds_drop_task",
        "timelines.tasks.feed_push_own_task",
    } <= names
    for name in sorted(names):
        outbox.task_named(name)  # raises for a name that is not a task


@pytest.mark.django_db
@pytest.mark.parametrize(
    "name",
    ["timelines.tasks.fanout_tweet_tsak", "timelines.taks.fanout_tweet_task", "timelines.services.fanout_tweet"],
)
def test_a_wrong_name_is_refused_when_written_and_writes_nothing(name: str) -> None:
    with pytest.raises(ValueError, match="is not a Celery task"), transaction.atomic():
        outbox.enqueue(name, 1)
    assert not OutboxTask.objects.exists()


@pytest.mark.django_db
def test_run_after_commit_refuses_a_wrong_name_at_once() -> None:
    with pytest.raises(ValueError, match="is not a Celery task"), transaction.atomic():
        outbox.run_after_commit("timelines.tasks.feed_push_own_tsak", 1, 2)
