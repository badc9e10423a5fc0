"""The README's curl session works as written: its block is read from README.md and run by bash
against a live uvicorn, with only the base URL changed (the demo account made as seed_demo makes it)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from accounts.demo import DEMO_PASSWORD, DEMO_USERNAME
from tests.api.live import ROOT, uvicorn_server
from tests.factories import make_user
from tweets.models import Tweet

BLOCK = re.compile(r"<!-- api-curl-session -->\n```sh\n(?P<script>.*?)```", re.S)


def readme_session() -> str:
    match = BLOCK.search((ROOT / "README.md").read_text())
    assert match, "README.md has no api-curl-session block"
    return match["script"]


@pytest.mark.django_db(transaction=True)
def test_the_readme_curl_session_works(tmp_path: Path) -> None:
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed here: the README session is a curl session")
    make_user(DEMO_USERNAME, password=DEMO_PASSWORD)
    script = readme_session()
    assert script.startswith("BASE=http://127.0.0.1:8000\n")
    with uvicorn_server(tmp_path) as live:
        run = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script.replace("BASE=http://127.0.0.1:8000", f"BASE={live.url}", 1)],
            cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    posted, timeline = (json.loads(line) for line in run.stdout.strip().splitlines()[-2:])
    assert posted["text"] == "Hello from curl #api"
    assert timeline["items"][0]["id"] == posted["id"]
    assert Tweet.objects.filter(author__username=DEMO_USERNAME, text="Hello from curl #api").exists()
