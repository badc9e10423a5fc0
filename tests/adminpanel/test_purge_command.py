"""`manage.py purge_demo_data` and the beat entry that runs it nightly."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test.utils import override_settings

from accounts.models import User
from adminpanel.models import PurgeRun
from tests.adminpanel.conftest import DemoSite, db_snapshot, media_files, redis_snapshot
from tests.factories import make_user

ROOT = Path(settings.BASE_DIR)


def _purge(*args: str) -> str:
    out = io.StringIO()
    call_command("purge_demo_data", *args, stdout=out)
    return out.getvalue()


def _summary(output: str, heading: str) -> dict[str, int]:
    """The summary table after `heading`: label -> number."""
    rows = [line.rsplit(None, 1) for line in output.split(heading, 1)[1].splitlines() if line.strip()]
    return {label.strip(): int(value) for label, value in rows}


def test_dry_run_prints_what_it_would_delete_and_changes_nothing(demo_site: DemoSite) -> None:
    before = (db_snapshot(), redis_snapshot(), media_files())

    output = _purge("--dry-run")

    assert (db_snapshot(), redis_snapshot(), media_files()) == before
    assert "Dry run, nothing was deleted. A purge would remove:" in output
    rows = _summary(output, "would remove:")
    assert rows | {"Redis keys": 0, "total": 0} == {
        "users (non-staff)": 2, "tweets": 3, "follows": 4, "blocks": 1, "mutes": 1, "conversations": 2, "messages": 3, "captured mails": 1,
        "avatar files": 2, "Redis keys": 0, "total": 0,
        "likes": 1, "bookmarks": 1, "notifications": 7, "notification events": 8,
    }  # fmt: skip
    assert rows["Redis keys"] > 0
    assert rows["total"] == sum(value for label, value in rows.items() if label != "total")


def test_command_purges_with_progress_and_a_summary(demo_site: DemoSite, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("adminpanel.services.PURGE_BATCH_SIZE", 2)

    output = _purge()

    lines = output.splitlines()
    assert lines.index("tweets: 2/3") < lines.index("tweets: 3/3") < lines.index("users: 2/2")
    assert _summary(output, "Purge done. Removed:")["users (non-staff)"] == 2
    assert set(User.objects.values_list("username", flat=True)) == {"staff", "root"}
    again = _summary(_purge(), "Purge done. Removed:")
    assert len(again) == 15
    assert set(again.values()) == {0}


@pytest.mark.django_db(transaction=True)
@override_settings(DEMO_MODE=False)
def test_command_refuses_without_demo_mode_unless_forced() -> None:
    make_user("customer")

    with pytest.raises(CommandError, match="DEMO_MODE is off") as refused:
        _purge()
    assert refused.value.returncode == 2
    assert User.objects.filter(username="customer").exists()

    assert "would remove" in _purge("--dry-run")  # harmless, so allowed
    assert User.objects.filter(username="customer").exists()

    assert "Purge done" in _purge("--force")
    assert not User.objects.exists()


def _run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env={**os.environ, **env}, capture_output=True, text=True, timeout=120
    )


def test_real_exit_code_without_demo_mode_is_2() -> None:
    """Refused before any database access, so the process can run against the real settings."""
    result = _run("manage.py", "purge_demo_data", DEMO_MODE="0")
    assert result.returncode == 2, result.stderr
    assert "DEMO_MODE is off" in result.stderr
    assert "--force" in result.stderr


@pytest.mark.django_db(transaction=True)
def test_command_exits_1_while_another_purge_runs(lock_held_elsewhere: object) -> None:
    make_user("visitor")
    with pytest.raises(CommandError, match="Another demo purge is running") as busy:
        _purge()
    assert busy.value.returncode == 1
    assert User.objects.filter(username="visitor").exists()
    assert not PurgeRun.objects.exists()


@pytest.mark.parametrize(
    ("demo_mode", "expected"), [("1", ["True", "True", "4", "15"]), ("0", ["False"])], ids=["demo", "production"]
)
def test_beat_schedules_the_purge_only_in_demo_mode(demo_mode: str, expected: list[str]) -> None:
    """Settings decide the schedule at import, so each case imports them in a fresh process."""
    code = (
        "from tweethub import settings as s\n"
        "entry = s.CELERY_BEAT_SCHEDULE.get('purge-demo-data')\n"
        "print(entry is not None, *([] if entry is None else [entry['task'] == 'adminpanel.tasks.purge_demo_data_task',"
        " min(entry['schedule'].hour), min(entry['schedule'].minute)]))"
    )
    result = _run("-c", code, DEMO_MODE=demo_mode, PURGE_DEMO_AT="04:15")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == expected
