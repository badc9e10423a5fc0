"""`manage.py createsuperuser` (`make manage ARGS="createsuperuser"`): Django's command, for our User.

Django's own command works with any custom user model, but on ours it made an account that could
not tweet (superusers skip sign-up, so nobody ever confirmed their email) and insisted on a
display name that Django users do not expect to give. This subclass keeps every prompt, option and
environment variable of Django's (DJANGO_SUPERUSER_PASSWORD, DJANGO_SUPERUSER_USERNAME, ...) and:

- marks the new superuser verified: the person at the terminal is the operator, there is no
  address to confirm on their behalf;
- makes the display name optional: without --name (or DJANGO_SUPERUSER_NAME), the username is the
  name, as a member could later change it on their profile; interactively, an empty answer says so;
- refuses an email address another account has (in any capitalisation) with a message, not the
  database's unique-index error.

No UserStats row is created: none is for sign-ups either (accounts.services.stats_adjust creates
it on the first follow or tweet, and accounts.selectors.stats_for reads zeros until then).

Django only finds this command because "accounts" is listed before "django.contrib.auth" in
INSTALLED_APPS: the first app that has a command of a name wins.
"""

from __future__ import annotations

import os
from datetime import datetime
from typing import Any

from django.contrib.auth.management.commands import createsuperuser
from django.core.management.base import CommandError
from django.db import IntegrityError
from django.db.models import Field
from django.utils import timezone

from accounts.models import User


class Command(createsuperuser.Command):
    help = "Create a verified superuser (staff) account; the display name defaults to the username."

    def handle(self, *args: Any, **options: Any) -> None:
        # What Django's handle() chooses, found again afterwards: the username it was given (an
        # option, the environment, or the last answer to the prompt, see get_input_data).
        self._username: str | None = options.get("username") or (
            None if options["interactive"] else os.environ.get("DJANGO_SUPERUSER_USERNAME")
        )
        if not options["interactive"] and not (options.get("name") or os.environ.get("DJANGO_SUPERUSER_NAME")):
            options["name"] = self._username
        email = options.get("email") or ("" if options["interactive"] else os.environ.get("DJANGO_SUPERUSER_EMAIL"))
        if email and self._email_taken(email, options["database"]):
            raise CommandError("An account with that email address already exists.")
        started = timezone.now()
        try:
            # Not in one transaction with the verification below: Django's handle() asks its
            # questions between queries, and a transaction must not stay open while someone types.
            super().handle(*args, **options)
        except IntegrityError:
            # Lost a race with a sign-up between the checks and the insert.
            raise CommandError("That username or email address was taken meanwhile; nothing was created.") from None
        self._verify(database=options["database"], since=started)

    def get_input_data(self, field: Field[Any, Any], message: str, default: str | None = None) -> Any:
        if field.name == "name" and self._username:
            message = f"Display name (leave blank to use '{self._username}'): "
            default = self._username
        value = super().get_input_data(field, message, default)
        if field.name == "email" and value and self._email_taken(value, None):
            self.stderr.write("Error: An account with that email address already exists.")
            return None  # asked again, as Django does after any invalid answer
        if field is self.username_field and value:
            self._username = value
        return value

    def _email_taken(self, email: str, database: str | None) -> bool:
        return User.objects.db_manager(database).filter(email__iexact=email.strip()).exists()

    def _verify(self, *, database: str, since: datetime) -> None:
        """Mark the superuser this run created verified, right after it was created. Django's
        handle() does not return the user, and may have created none (no terminal to ask on): only
        an account with this username that joined after the command started is this run's."""
        if self._username is None:
            return
        User.objects.db_manager(database).filter(
            username__iexact=self._username, is_superuser=True, verified_at__isnull=True, date_joined__gte=since
        ).update(verified_at=timezone.now())
