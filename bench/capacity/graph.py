"""Follower counts of the graph seed_data draws (adminpanel/seed/shape.py), computed analytically."""

from __future__ import annotations

import math

from bench.capacity.assumptions import AVG_FOLLOWS, CELEBRITY_THRESHOLD, OUT_DEGREE_SHAPE, ZIPF_OFFSET


def harmonic(n: int) -> float:
    """H_n, exact below 10^5 terms, else the asymptotic series (error far below 1e-12)."""
    if n < 100_000:
        return math.fsum(1.0 / k for k in range(1, n + 1))
    return math.log(n) + 0.5772156649015329 + 1 / (2 * n) - 1 / (12 * n**2)


def popularity_total(users: int) -> float:
    """Sum of the weights 1 / (rank + ZIPF_OFFSET) over ranks 0..users-1."""
    return harmonic(users + ZIPF_OFFSET - 1) - harmonic(ZIPF_OFFSET - 1)


def expected_followers(rank: int, users: int, avg_follows: float = AVG_FOLLOWS) -> float:
    """Expected followers of popularity `rank`: a user with gamma out-degree D misses it with
    probability about (1 - p)^D, and E[(1 - p)^D] = (1 + t * theta)^-shape with t = -ln(1 - p).
    At 100K users x 50 follows: 66.3K for the top account; the bench's seed had 67,504."""
    p = (1.0 / (rank + ZIPF_OFFSET)) / popularity_total(users)
    theta = avg_follows / OUT_DEGREE_SHAPE
    miss: float = (1.0 - math.log1p(-p) * theta) ** -OUT_DEGREE_SHAPE
    return (users - 1) * (1.0 - miss)


def pull_mode(users: int, threshold: int = CELEBRITY_THRESHOLD) -> tuple[int, float]:
    """(accounts at or over the celebrity threshold, share of all follow edges that point at them):
    their tweets are pulled at read time, so those edges cost no push inserts."""
    edges = users * AVG_FOLLOWS
    count, covered = 0, 0.0
    while count < users and (followers := expected_followers(count, users)) >= threshold:
        count, covered = count + 1, covered + followers
    return count, min(1.0, covered / edges)
