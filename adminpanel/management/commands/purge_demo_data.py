"""`manage.py purge_demo_data [--dry-run] [--force]`: the demo purge by hand (beat runs it nightly).

Exit codes: 0 purged (or dry run done); 1 another purge holds the lock, so nothing was done (a
script chaining on success must not carry on as if the data were gone); 2 refused because
DEMO_MODE is off and --force was not given: a production database must not be wiped by a typo or
a command pasted into the wrong terminal. --dry-run is always allowed: it deletes nothing.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from adminpanel.models import PurgeRun
from adminpanel.services import PurgeAlreadyRunning, PurgeNotAllowed, purge_demo_data


class Command(BaseCommand):
    help = (
        "Delete all user-created data (accounts other than staff, tweets, follows, messages, captured mail, "
        "avatars) and the matching Redis keys. Refuses without DEMO_MODE unless --force."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="Only count what would be deleted.")
        parser.add_argument("--force", action="store_true", help="Purge even though DEMO_MODE is off.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            run = purge_demo_data(dry_run=options["dry_run"], force=options["force"], progress=self.stdout.write)
        except PurgeNotAllowed as refusal:
            raise CommandError(
                f"{refusal} Use --dry-run to see what a purge would remove, or --force if you really mean it.",
                returncode=2,
            ) from None
        except PurgeAlreadyRunning as busy:
            raise CommandError(str(busy), returncode=1) from None
        self._summary(run)

    def _summary(self, run: PurgeRun) -> None:
        width = max(len(label) for label, _ in run.count_items())
        heading = "Dry run, nothing was deleted. A purge would remove:" if run.dry_run else "Purge done. Removed:"
        self.stdout.write("")
        self.stdout.write(self.style.SUCCESS(heading))
        for label, count in run.count_items():
            self.stdout.write(f"  {label:<{width}}  {count:>9}")
        self.stdout.write(f"  {'total':<{width}}  {run.removed_total:>9}")
