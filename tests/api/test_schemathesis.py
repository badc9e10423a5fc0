"""Every operation of the live OpenAPI schema, driven by schemathesis against a real uvicorn process
(the CLI, as a client would run it): examples, coverage (boundary and invalid values), fuzzing and
stateful sequences following the schema's links (a posted tweet's id into get, pin, unpin,
delete). Every check it has runs, with two left out for reasons stated below; any 500, any
response off the schema (status, content type, headers, body) fails the test.

The caller is a member with a token of every scope, who follows and is followed, has tweets (one
with a reply, so its thread has one), a conversation with @bob (the schema's example username), a
block and a mute, likes, a bookmark, a repost, a quote and notifications (a like, a follow), so
operations reach their real paths, not only 404s. The three token operations take a browser session only (a token cannot mint
tokens), so here they answer 401 to everything, as documented; tests/api/test_basics.py and the
security matrix and fuzz (tests/security/test_api_*.py) drive them with sessions.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

from follows.services import block_create, follow_create, mute_create
from messaging.services import message_send
from notifications.services import notify
from tests.api.conftest import token_for
from tests.api.live import GENEROUS, ROOT, uvicorn_server
from tests.factories import make_user
from tweets.reposts import repost_create
from tweets.services import bookmark_create, like_create, tweet_create, tweet_pin

ARTIFACTS = ROOT / "tests" / "artifacts" / "schemathesis"
# Per operation and phase. Enough for each operation's boundaries and a spread of random values;
# the whole run stays around a minute or two on 2 cores.
MAX_EXAMPLES = 30

# Left out, and why:
# - positive_data_acceptance expects a 2xx for any schema-valid input, but a valid-looking
#   username or tweet id that does not exist is a 404, as it should be.
# - object_level_authorization / ignored_auth need a second identity configured to compare with;
#   tests/security/test_api_matrix.py tries every route as owner, other member, and anonymous.
EXCLUDED_CHECKS = "positive_data_acceptance,object_level_authorization"


def _world() -> str:
    alice = make_user("alice")
    bob, carol = make_user("bob"), make_user("carol")
    follow_create(follower=alice, followee=bob)
    follow_create(follower=bob, followee=alice)
    follow_create(follower=bob, followee=carol)
    bobs = [tweet_create(author=bob, text=f"bob's tweet {n} #api") for n in range(25)][-1]
    mine = tweet_create(author=alice, text="alice's tweet #api")
    tweet_pin(tweet_id=mine.pk, user=alice)
    tweet_create(author=bob, text="bob answers alice", in_reply_to=mine.pk)
    message_send(sender=bob, recipient=alice, text="hello alice")
    block_create(blocker=alice, blocked=make_user("dave"))
    mute_create(muter=alice, muted=carol)
    like_create(user=alice, tweet_id=bobs.pk)
    like_create(user=bob, tweet_id=mine.pk)
    bookmark_create(user=alice, tweet_id=bobs.pk)
    repost_create(user=alice, tweet_id=bobs.pk)
    tweet_create(author=alice, text="quoting bob", quote_of=bobs.pk)
    # The tasks the likes and follows queued do not run here: notified as the task would.
    notify(kind="like", actor_id=bob.pk, recipient_id=alice.pk, object_id=mine.pk)
    notify(kind="follow", actor_id=bob.pk, recipient_id=alice.pk)
    return token_for(alice, ["read", "write", "messages"])


@pytest.mark.timeout(900)
@pytest.mark.django_db(transaction=True)
def test_schemathesis_finds_nothing(tmp_path: Path) -> None:
    token = _world()
    env = {
        f"RATE_LIMIT_{name}": GENEROUS
        for name in (
            "TWEETS_PER_USER",
            "FOLLOWS_PER_USER",
            "BLOCKS_PER_USER",
            "LOGIN_PER_IP",
            "LIKES_PER_USER",
            "BOOKMARKS_PER_USER",
        )
    }
    with uvicorn_server(tmp_path, **env) as live:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        run = subprocess.run(
            [sys.executable, "-m", "schemathesis.cli", "run", f"{live.url}/api/v1/schema/",
             "--header", f"Authorization: Bearer {token}",
             "--checks", "all", "--exclude-checks", EXCLUDED_CHECKS,
             "--max-examples", str(MAX_EXAMPLES), "--seed", "22", "--workers", "1",
             "--request-timeout", "20",
             "--report", "junit,ndjson", "--report-dir", str(ARTIFACTS)],
            cwd=tmp_path, capture_output=True, text=True, timeout=600, check=False,  # its .schemathesis cache there
        )  # fmt: skip
        output = run.stdout + run.stderr
        (ARTIFACTS / "output.txt").write_text(output)
        server_log = live.log.read_text()
    assert run.returncode == 0, output[-6000:]
    assert "Internal Server Error" not in server_log, server_log[-4000:]
    assert " 500 " not in server_log, server_log[-4000:]
    # It did test every operation of the schema, not an empty or unreachable one.
    schema = Client().get("/api/v1/schema/").json()
    operations = sum(len(item) for item in schema["paths"].values())
    assert f"Tested: {operations}" in output, output[-3000:]
