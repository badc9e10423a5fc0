"""The shape of seed_graph's graph: pure draws from its random generator (who was active when, who
follows whom, who tweets when). No database here: adminpanel.seed.graph loads what these draw.

Accounts are indexes 0..users-1; times are microseconds after the id epoch. Every function draws
from the generator it is given, so calling them in another order changes the graph of a seed.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from itertools import accumulate

from django.conf import settings

from adminpanel.seed.common import DAY_US, HOUR_US, SECOND_US
from adminpanel.seed.loading import inside_ms
from adminpanel.seed.places import city_positions


def draw_visits(
    rng: random.Random, *, users: int, days: int, inactive_share: float, now_us: int
) -> tuple[list[int], list[int | None]]:
    """(when each account joined, when it was last seen). `inactive_share` of them were last seen
    before ACTIVE_DAYS (a fifth of those never came back: None); the others within it, most of them
    recently. Everyone joined before the `days`-day tweet window and before their last visit."""
    active_days = settings.ACTIVE_DAYS
    inactive = set(rng.sample(range(users), round(users * inactive_share)))
    last_active: list[int | None] = []
    joined: list[int] = []
    for index in range(users):
        if index in inactive:
            seen = (
                None if rng.random() < 0.2 else now_us - (active_days * DAY_US + HOUR_US) - rng.randrange(60 * DAY_US)
            )
        else:
            # Most active users were here today; the window's far end stays an hour away.
            seen = now_us - 60 * SECOND_US - int((active_days * DAY_US - HOUR_US) * rng.random() ** 3)
        start = max(days * DAY_US, now_us - seen if seen is not None else 0) + DAY_US
        joined.append(now_us - start - rng.randrange(730 * DAY_US))
        last_active.append(seen)
    return joined, last_active


def draw_positions(
    rng: random.Random, share: float, joined: list[int], last_active: list[int | None]
) -> tuple[dict[int, tuple[float, float]], dict[int, int]]:
    """({index: position}, {index: when it was shared}) for `share` of the accounts (active or
    not): around ~40 world cities in proportion to their populations (Gaussian, tens of km),
    snapped to the ~1 km grid of accounts.services.location_share, latitude within its +-85 degrees."""
    users = len(joined)
    sharing = rng.sample(range(users), round(users * share))
    positions = dict(zip(sharing, city_positions(rng, len(sharing)), strict=True))
    shared_at = {
        # When they shared it: some time between joining and their last visit.
        index: joined[index] + rng.randrange(max(1, (last_active[index] or joined[index] + DAY_US) - joined[index]))
        for index in sharing
    }
    return positions, shared_at


@dataclass(frozen=True)
class Popularity:
    """Who gets followed (and mentioned): a random popularity rank per account index. Followers then
    follow a power law (Zipf, exponent 1): at 100K users a handful of accounts have tens of thousands
    of followers, the median has a few."""

    rank: list[int]  # 0 is the most followed
    cum_weights: list[float]  # cumulative weights 1 / (rank + 3), by index


def draw_popularity(rng: random.Random, users: int) -> Popularity:
    rank = list(range(users))
    rng.shuffle(rank)
    return Popularity(rank, list(accumulate(1.0 / (rank[index] + 3) for index in range(users))))


def draw_out_degrees(rng: random.Random, users: int, total: int) -> list[int]:
    """Out-degrees varying around the mean (gamma, shape 1.5), summing exactly to `total`."""
    if users == 0 or total == 0:
        return [0] * users
    cap = users - 1
    raw = [rng.gammavariate(1.5, 1.0) for _ in range(users)]
    scale = total / sum(raw)
    degrees = [min(cap, int(value * scale)) for value in raw]
    missing = total - sum(degrees)
    while missing > 0:
        index = rng.randrange(users)
        if degrees[index] < cap:
            degrees[index] += 1
            missing -= 1
    return degrees


def draw_followees(
    rng: random.Random, follower: int, degree: int, population: range, cum_weights: list[float]
) -> list[int]:
    """`degree` distinct followee indexes drawn by popularity, never the follower itself."""
    chosen: set[int] = set()
    for _attempt in range(8):
        need = degree - len(chosen)
        if need <= 0:
            break
        for index in rng.choices(population, cum_weights=cum_weights, k=need + need // 4 + 2):
            if index != follower:
                chosen.add(index)
                if len(chosen) == degree:
                    break
    if len(chosen) < degree:
        # A tiny graph where the popular accounts are already taken: fill in uniformly.
        rest = [index for index in population if index != follower and index not in chosen]
        chosen.update(rng.sample(rest, degree - len(chosen)))
    return sorted(chosen)


def draw_author_weights(rng: random.Random, posting: list[int], popularity: Popularity) -> list[float]:
    """Cumulative weights of the `posting` accounts as authors: heavy-tailed (Pareto), and the most
    followed percent five times more."""
    top = max(1, len(popularity.rank) // 100)
    return list(accumulate(rng.paretovariate(1.3) * (5 if popularity.rank[index] < top else 1) for index in posting))


def draw_tweet_times(
    rng: random.Random,
    *,
    posting: list[int],
    author_cum: list[float],
    last_active: list[int | None],
    tweets: int,
    window_start: int,
    now_us: int,
) -> list[tuple[int, int]]:
    """(time, author index) of `tweets` tweets, sorted by time: authors drawn from `posting` by
    their weights; times in the window, denser towards now, at least a second old, never after the
    author's last visit, and strictly inside their millisecond (loading.tweet_rows)."""
    plan: list[tuple[int, int]] = []
    span = now_us - window_start - SECOND_US  # the newest tweet is at least a second old
    for index in rng.choices(posting, cum_weights=author_cum, k=tweets):
        moment = now_us - SECOND_US - int(span * rng.random() ** 1.25)  # denser towards now
        seen = last_active[index]
        assert seen is not None
        if moment > seen:  # not after their last visit: redraw, densest just before it
            moment = seen - int((seen - window_start) * rng.random() ** 1.25)
        plan.append((inside_ms(moment, rng), index))
    plan.sort()
    return plan
