"""DATABASE_POOLER: what the settings change when the app runs behind PgBouncer in transaction mode
(docker-compose.yml). That the app then works through a real PgBouncer, and does not without these
changes (PgBouncer refuses the `options` startup parameter), is tests/deploy/test_topology.py's."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
SHOW = (
    "import json, django; django.setup(); from django.conf import settings; d = settings.DATABASES['default'];"
    "print(json.dumps({'options': d['OPTIONS'], 'ssc': d.get('DISABLE_SERVER_SIDE_CURSORS', False)}, default=str))"
)


def _settings(pooler: str | None) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if key != "DATABASE_POOLER"}
    if pooler is not None:
        env["DATABASE_POOLER"] = pooler
    env["DJANGO_SETTINGS_MODULE"] = "tweethub.settings"
    return subprocess.run([sys.executable, "-c", SHOW], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def _loaded(pooler: str | None) -> dict[str, Any]:
    result = _settings(pooler)
    assert result.returncode == 0, result.stderr[-2000:]
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def test_straight_to_postgres_by_default() -> None:
    loaded = _loaded(None)
    assert loaded["options"]["options"].startswith("-c statement_timeout=")
    assert "prepare_threshold" not in loaded["options"]
    assert loaded["ssc"] is False


def test_behind_pgbouncer_nothing_outlives_a_transaction() -> None:
    loaded = _loaded("pgbouncer")
    assert "options" not in loaded["options"]  # PgBouncer refuses the startup parameter
    assert loaded["options"]["prepare_threshold"] is None  # no prepared statements
    assert loaded["ssc"] is True  # no server-side cursors outside a transaction
    assert "pool" in loaded["options"]  # each process still pools its client connections


def test_an_unknown_pooler_stops_the_site_at_start_up() -> None:
    result = _settings("pgpool")
    assert result.returncode != 0
    assert "ImproperlyConfigured: DATABASE_POOLER: 'pgpool' is neither 'postgres' nor 'pgbouncer'" in result.stderr
