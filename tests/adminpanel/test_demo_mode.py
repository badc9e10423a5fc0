"""Issue 17, item 7: demo mode is explicit, never inferred, and the nightly purge runs only in it.

A production site once started with DEBUG=1 lost every account at 03:30, because DEMO_MODE defaulted
to DEBUG. Each way the purge can start is tested where DEBUG is on and DEMO_MODE is not set (or set
to anything but true): the beat schedule, the command, and the task a worker would run; and the
admin panel says which mode the site is in.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.test.utils import override_settings

from accounts.models import User
from adminpanel.services import PurgeNotAllowed
from adminpanel.tasks import purge_demo_data_task
from tests.factories import make_user

ROOT = Path(settings.BASE_DIR)
# DEBUG on, DEMO_MODE absent or set to something that is not true.
NOT_DEMO = [{}, {"DEMO_MODE": ""}, {"DEMO_MODE": "0"}, {"DEMO_MODE": "no"}]


def _run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """A process with the real settings (read once, as it starts), DEBUG on, and `env`."""
    environment = {key: value for key, value in os.environ.items() if key != "DEMO_MODE"}
    environment.update(DEBUG="1", **env)
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120
    )


SCHEDULE = "from tweethub import settings as s\nprint(s.DEMO_MODE, 'purge-demo-data' in s.CELERY_BEAT_SCHEDULE)\n"


@pytest.mark.parametrize("env", NOT_DEMO, ids=["unset", "empty", "0", "no"])
def test_debug_without_explicit_demo_mode_schedules_no_purge_and_the_command_refuses(env: dict[str, str]) -> None:
    schedule = _run("-c", SCHEDULE, **env)
    assert schedule.returncode == 0, schedule.stderr
    assert schedule.stdout.split() == ["False", "False"]

    command = _run("manage.py", "purge_demo_data", **env)
    assert command.returncode == 2, command.stderr
    assert "DEMO_MODE is off" in command.stderr


def test_only_demo_mode_set_to_true_schedules_the_purge() -> None:
    schedule = _run("-c", SCHEDULE, DEMO_MODE="1")
    assert schedule.returncode == 0, schedule.stderr
    assert schedule.stdout.split() == ["True", "True"]


@pytest.mark.django_db(transaction=True)
@override_settings(DEMO_MODE=False, DEBUG=True)
def test_a_purge_task_reaching_a_worker_outside_demo_mode_deletes_nothing() -> None:
    """Say a beat started in demo mode queued it, and the worker runs without: the worker refuses."""
    make_user("customer")

    with pytest.raises(PurgeNotAllowed):
        purge_demo_data_task.apply(throw=True)

    assert User.objects.filter(username="customer").exists()


@pytest.mark.django_db
def test_the_admin_panel_says_the_site_is_in_demo_mode(client: Client) -> None:
    assert settings.DEMO_MODE  # the test run's mode (make test sets DEMO_MODE=1)

    page = client.get("/admin/").content.decode()

    assert 'data-site-mode="demo"' in page
    assert "<strong>Demo mode</strong>" in page
    assert "every account but staff is deleted each night" in page


@pytest.mark.django_db
@override_settings(DEMO_MODE=False, DEBUG=True)
def test_the_admin_panel_says_the_site_is_not_in_demo_mode(client: Client) -> None:
    client.force_login(make_user("operator", is_staff=True))

    page = client.get("/admin/").content.decode()

    assert 'data-site-mode="production"' in page
    assert "<strong>Not in demo mode</strong>" in page
    assert "no nightly purge runs" in page
