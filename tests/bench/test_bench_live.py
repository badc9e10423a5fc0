"""The Redis counting of section "live" (bench/live_cost.py) on the test servers: what it counts
must be the event's own traffic, and its stand-in processes must leave presence as they found it."""

from __future__ import annotations

from collections import Counter

import pytest

from bench import live_cost as live
from tweethub import presence

pytestmark = pytest.mark.django_db

HTML = "<article>" + "x" * 500 + "</article>"
MESSAGE = {"id": 1, "html": HTML}


def test_an_event_is_one_message_per_process_holding_a_recipient_naming_each_once() -> None:
    cost = live.redis_cost(processes=3, recipients=10, events=2, message=MESSAGE)

    assert cost.messages == cost.expected_messages == 2 * 3
    assert cost.addressed == 2 * 10
    assert cost.readers.commands == Counter({"bzpopmin": 6})
    # The sender: one presence lookup and one Lua call per event, whatever the recipients.
    assert cost.sender.commands["hmget"] == 2
    assert cost.sender.commands["evalsha"] == 2
    assert cost.sender.bytes_in > 2 * len(HTML)
    assert cost.readers.bytes_out > 6 * len(HTML)


def test_one_recipient_reaches_one_process_and_presence_is_left_clean() -> None:
    cost = live.redis_cost(processes=2, recipients=1, events=3, message=MESSAGE)

    assert cost.messages == cost.expected_messages == 3
    assert cost.readers.commands == Counter({"bzpopmin": 3})
    assert presence.channels_of([live.FIRST_USER_ID]) == {}
    assert live.FIRST_USER_ID not in presence.online_user_ids()
