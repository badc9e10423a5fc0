"""`manage.py seed_data --users N --avg-follows K --tweets M`: load a large realistic social graph.

Bulk COPY through adminpanel.seed.seed_graph, with a progress bar per phase (redrawn in place on a
terminal, one line per 5% otherwise) and the time each phase took. It adds to what the database
holds. Refuses (exit 2) on a site with neither DEBUG nor DEMO_MODE unless --force: every seeded
account shares a published password.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser, OutputWrapper
from django.db import connection

from accounts.models import FanoutMode
from adminpanel.seed import SEED_PASSWORD, SeedError, seed_graph

PHASES = ("users", "follows", "tweets", "stats", "replies", "feeds", "geo")


class TerminalProgress:
    """Writes progress lines; on a terminal, a line of the same phase as the previous one redraws
    it in place (\\r) instead of scrolling."""

    def __init__(self, out: OutputWrapper) -> None:
        self.out = out
        self.redraw = out.isatty()
        self.open_phase: str | None = None

    def __call__(self, line: str) -> None:
        phase = line.split(" ", 1)[0]
        if not self.redraw:
            self.out.write(line)
            return
        if self.open_phase == phase:
            self.out.write(f"\r{line}\x1b[K", ending="")
        else:
            self.out.write(("\n" if self.open_phase else "") + line, ending="")
        self.out.flush()
        self.open_phase = phase

    def close(self) -> None:
        if self.redraw and self.open_phase:
            self.out.write("")
        self.open_phase = None


def _duration(seconds: float) -> str:
    minutes, rest = divmod(seconds, 60)
    return f"{int(minutes)} min {rest:.0f} s" if minutes else f"{rest:.1f} s"


def _followers(user_ids: list[int]) -> tuple[int, int, int]:
    """Median and largest follower count of these users, and how many are in pull mode."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY followers), max(followers),"
            " count(*) FILTER (WHERE fanout_mode = %s) FROM accounts_userstats WHERE user_id = ANY(%s)",
            [FanoutMode.PULL.value, user_ids],
        )
        median, most, pull = cursor.fetchone()
    return median, most, pull


class Command(BaseCommand):
    help = (
        "Add a realistic social graph (power-law followers, inactive users, tweets with hashtags over weeks, "
        "feeds for active users), bulk-loaded with COPY. Refuses outside DEMO_MODE unless --force."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--users", type=int, default=1000, help="Accounts to add (default 1000).")
        parser.add_argument("--avg-follows", type=int, default=20, help="Mean follows per account (default 20).")
        parser.add_argument("--tweets", type=int, default=10_000, help="Tweets to add (default 10000).")
        parser.add_argument("--days", type=int, default=28, help="Tweets are spread over this many days (28).")
        parser.add_argument("--inactive-share", type=float, default=0.2, help="Share of inactive users (0.2).")
        parser.add_argument("--seed", type=int, default=1, help="Random seed: the same seed, the same graph.")
        parser.add_argument(
            "--prefix", default="user", help="Usernames are PREFIX1..PREFIXN (a fresh prefix if taken)."
        )
        parser.add_argument("--no-feeds", action="store_true", help="Skip building Redis feeds and trends.")
        parser.add_argument("--force", action="store_true", help="Run even though DEMO_MODE is off.")

    def handle(self, *args: Any, **options: Any) -> None:
        # DEMO_MODE only, never DEBUG: a real site started once with DEBUG=1 is still a real site.
        if not (settings.DEMO_MODE or options["force"]):
            raise CommandError(
                "DEMO_MODE is off: this looks like a real site, and every seeded account shares a "
                "published password. Use --force if you really mean it.",
                returncode=2,
            )
        progress = TerminalProgress(self.stdout)
        try:
            report = seed_graph(
                users=options["users"],
                avg_follows=options["avg_follows"],
                tweets=options["tweets"],
                days=options["days"],
                inactive_share=options["inactive_share"],
                random_seed=options["seed"],
                username_prefix=options["prefix"],
                progress=progress,
                build_feeds=not options["no_feeds"],
            )
        except SeedError as error:
            raise CommandError(str(error)) from None
        finally:
            progress.close()
        self.stdout.write("")
        self.stdout.write(
            self.style.SUCCESS(
                f"Seeded {report.users:,} users, {report.follows:,} follows, {report.tweets:,} tweets and "
                f"{report.feeds:,} feeds in {_duration(report.seconds['total'])}."
            )
        )
        for phase in PHASES:
            self.stdout.write(f"  {phase:<8} {report.seconds.get(phase, 0.0):8.1f} s")
        self.stdout.write(f"  {'total':<8} {report.seconds['total']:8.1f} s")
        if report.users:
            median, most, pull = _followers(report.user_ids)
            self.stdout.write(
                f"Followers: median {median:,}, max {most:,}; {pull:,} accounts over CELEBRITY_THRESHOLD "
                f"({settings.CELEBRITY_THRESHOLD:,}) start in pull mode."
            )
            last = f"{report.username_prefix}{report.users}"
            self.stdout.write(
                f"Accounts {report.username_prefix}1..{last}, password {SEED_PASSWORD!r}; "
                f"{len(report.active_user_ids):,} of them active."
            )
