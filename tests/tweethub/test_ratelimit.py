from __future__ import annotations

import pytest
from django.test.utils import override_settings

from tweethub.ratelimit import Rate, RateLimited, hit, mark, marked, over, record, refund
from tweethub.redis import feeds


@pytest.mark.parametrize(
    ("text", "rate"),
    [
        ("10/1h", Rate(10, 3600)),
        ("5/m", Rate(5, 60)),
        ("30/10m", Rate(30, 600)),
        ("1/2d", Rate(1, 172800)),
    ],
)
def test_rates_parse(text: str, rate: Rate) -> None:
    assert Rate.parse(text) == rate


@pytest.mark.parametrize("text", ["", "10", "ten/1h", "10/1w", "10/h/2"])
def test_bad_rates_fail_loudly(text: str) -> None:
    with pytest.raises(ValueError, match="not a rate"):
        Rate.parse(text)


def test_limit_allows_then_refuses_and_keys_are_independent() -> None:
    for _ in range(3):
        hit(scope="t", key="a", rate="3/1h", message="m")
    with pytest.raises(RateLimited) as refused:
        hit(scope="t", key="a", rate="3/1h", message="too many")
    assert refused.value.message == "too many"
    assert 0 < refused.value.retry_after <= 3600
    hit(scope="t", key="b", rate="3/1h", message="m")
    hit(scope="u", key="a", rate="3/1h", message="m")


def test_keys_do_not_reveal_personal_data() -> None:
    hit(scope="login-account", key="someone@example.com", rate="3/1h", message="m")
    keys = [key.decode() if isinstance(key, bytes) else str(key) for key in feeds().keys("rl:*")]
    assert keys
    assert not any("example" in key for key in keys)


def test_redis_down_lets_requests_through() -> None:
    with override_settings(FEEDS_REDIS_URL="unix:///nonexistent/redis.sock"):
        for _ in range(5):
            refund(hit(scope="t", key="a", rate="1/1h", message="m"))
            record(scope="t", key="a", rate="1/1h")
        assert not over(scope="t", key="a", rate="1/1h")
        mark(scope="t", key="a", seconds=60)
        assert not marked(scope="t", key="a")


def test_a_refunded_attempt_no_longer_counts() -> None:
    """Limits on failures only: count first, take back what turned out fine."""
    for _ in range(10):
        refund(hit(scope="t", key="a", rate="3/1h", message="m"))
    counted = [hit(scope="t", key="a", rate="3/1h", message="m") for _ in range(3)]
    with pytest.raises(RateLimited):
        hit(scope="t", key="a", rate="3/1h", message="m")
    refund(*counted)  # the refused one stays counted: 1 of 3
    hit(scope="t", key="a", rate="3/1h", message="m")
    hit(scope="t", key="a", rate="3/1h", message="m")
    with pytest.raises(RateLimited):
        hit(scope="t", key="a", rate="3/1h", message="m")


def test_a_ceiling_is_recorded_and_read_without_refusing() -> None:
    for _ in range(2):
        record(scope="c", key="a", rate="3/1h")
        assert not over(scope="c", key="a", rate="3/1h")
    record(scope="c", key="a", rate="3/1h")
    assert over(scope="c", key="a", rate="3/1h")
    record(scope="c", key="a", rate="3/1h")  # never raises
    assert not over(scope="c", key="b", rate="3/1h")


def test_marks_are_remembered_for_their_time() -> None:
    assert not marked(scope="m", key="user:1|10.0.0.1")
    mark(scope="m", key="user:1|10.0.0.1", seconds=60)
    assert marked(scope="m", key="USER:1|10.0.0.1")  # keys are case-blind, like the limits'
    assert not marked(scope="m", key="user:1|10.0.0.2")
    assert 0 < feeds().ttl(next(iter(feeds().keys("rl:m:*")))) <= 60


def test_a_concurrent_burst_gets_exactly_the_limit() -> None:
    """200 attempts from 20 threads at once: INCR is atomic, so exactly 25 pass whatever the
    interleaving (a read-then-write counter would let a burst through)."""
    from concurrent.futures import ThreadPoolExecutor

    def attempt(_: int) -> bool:
        try:
            hit(scope="burst", key="k", rate="25/1h", message="m")
        except RateLimited:
            return False
        return True

    with ThreadPoolExecutor(max_workers=20) as pool:
        passed = sum(pool.map(attempt, range(200)))
    assert passed == 25


@pytest.mark.django_db(transaction=True)
def test_a_burst_of_logins_over_http_is_held_to_the_limit() -> None:
    """The same through the site: 40 concurrent wrong-password logins for one account from
    threads, each its own client; the per-account limit (10) holds, and then even the right
    password is refused until the window passes."""
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connections
    from django.test import Client

    from tests.factories import PASSWORD, make_user

    make_user("target")

    def attempt(password: str) -> int:
        try:
            return Client().post("/accounts/login/", {"username": "target", "password": password}).status_code
        finally:
            connections.close_all()  # this thread's own connection, or the test database stays busy

    with ThreadPoolExecutor(max_workers=8) as pool:
        codes = list(pool.map(attempt, ["wrong"] * 40))
    assert codes.count(400) == 10  # refused as wrong, counted
    assert codes.count(429) == 30  # refused by the limit
    assert attempt(PASSWORD) == 429
