"""The chaos test's eyes inside the site's own database: run as a separate process,

    DATABASE_URL=... REDIS_URL=... python -m tests.faults.chaos_probe setup|check  < request.json

because the chaos test's Postgres is a server of its own (the test restarts it), not pytest-django's
test database this test process is connected to. It reads a JSON request on stdin and prints a
JSON answer on stdout.

setup: {"users": [username, ...], "follows": [[follower, followee], ...]}
    -> {username: id}. Verified accounts with the tests' password, active now (so fan-out writes
    their feeds), and the follows; written with the ORM directly (tests.factories' way), not
    through the services under test.
check: {"user_ids": [id, ...]}
    -> every tweet, message and conversation, every follow, the outbox's size, and per user the home
    timeline read the site's way (timelines.selectors.home_timeline, page after page, as the home
    page pages it) beside the plain SQL answer (tests.oracles), and whether the user has a feed.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any


def _setup(request: dict[str, Any]) -> dict[str, int]:
    from django.utils import timezone

    from accounts.models import User
    from follows.models import Follow
    from tests.factories import make_user

    now = timezone.now()
    ids: dict[str, int] = {}
    for username in request["users"]:
        ids[username] = make_user(username, last_active=now).pk
    User.objects.filter(pk__in=ids.values()).update(last_active=now)
    Follow.objects.bulk_create(
        [Follow(follower_id=ids[follower], followee_id=ids[followee]) for follower, followee in request["follows"]]
    )
    return ids


def _home_timeline(user_id: int, page_size: int) -> list[int]:
    from timelines.selectors import home_timeline

    ids: list[int] = []
    before: int | None = None
    while True:
        page = home_timeline(user_id=user_id, before=before, limit=page_size)
        ids += [tweet.id for tweet in page.items]
        if page.next_cursor is None or not page.items:
            return ids
        before = page.next_cursor


def _check(request: dict[str, Any]) -> dict[str, Any]:
    from django.conf import settings

    from follows.models import Follow
    from messaging.models import Conversation, Message
    from tests.oracles import home_timeline_oracle
    from timelines import store
    from tweethub.models import OutboxTask
    from tweets.models import Tweet

    timelines = {}
    for user_id in request["user_ids"]:
        timelines[str(user_id)] = {
            "feed_exists": store.exists(user_id=user_id),
            "home": _home_timeline(user_id, settings.TIMELINE_PAGE_SIZE),
            "oracle": home_timeline_oracle(user_id),
        }
    return {
        "tweets": list(Tweet.objects.order_by("id").values_list("id", "author_id", "text")),
        "messages": list(Message.objects.order_by("id").values_list("id", "sender_id", "conversation_id", "text")),
        "conversations": list(Conversation.objects.values_list("id", "user_low_id", "user_high_id")),
        "follows": list(Follow.objects.values_list("follower_id", "followee_id")),
        "outbox_pending": OutboxTask.objects.count(),
        "timelines": timelines,
    }


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tweethub.settings")
    import django

    django.setup()
    command = sys.argv[1]
    request = json.load(sys.stdin)
    answer = _setup(request) if command == "setup" else _check(request)
    json.dump(answer, sys.stdout)


if __name__ == "__main__":
    main()
