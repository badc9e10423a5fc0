"""`manage.py seed_demo`: give an empty site a lived-in demo (`make run` runs it after migrate).

Does nothing, and says why, when DEMO_SEED is off or the site already has accounts other than
staff; so running it on every start is safe. Prints the demo login.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from adminpanel.seed import SeedError, seed_demo


class Command(BaseCommand):
    help = "Seed an empty site with demo people, follows, tweets and a shared demo login (idempotent)."

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            report = seed_demo(progress=self._progress if options["verbosity"] > 1 else None)
        except SeedError as error:
            raise CommandError(str(error)) from None
        if not report.seeded:
            self.stdout.write(report.message)
            return
        self.stdout.write(self.style.SUCCESS(report.message))
        self.stdout.write(self.style.SUCCESS(f"  Demo login: {report.username} / {report.password}"))

    def _progress(self, line: str) -> None:
        self.stdout.write(line)
