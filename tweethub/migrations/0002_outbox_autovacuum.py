"""The outbox is a queue table: every row is inserted by a write and deleted a moment later, once the
broker has the task, so nearly every tuple it ever holds is dead. Left to the defaults, autovacuum
waits for 50 + 20% of the table's estimated rows to be dead: fine while it is near empty, but after
a broker outage (a backlog of N rows, reltuples = N) the drained table then waits for N/5 dead rows,
and its pk index (which the relay and every after-commit DELETE walk) fills with dead entries. A
fixed threshold (no scale factor) and no cost delay keep it vacuumed at a bounded number of dead
rows whatever its history; it is small, so an unthrottled vacuum costs next to nothing.
Measured by `make bench` (section postgres: dead rows and size during a burst, default vs these).
"""

from django.db import migrations

OPTIONS = (
    "autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 1000, "
    "autovacuum_vacuum_cost_delay = 0, autovacuum_analyze_scale_factor = 0, autovacuum_analyze_threshold = 5000"
)
NAMES = (
    "autovacuum_vacuum_scale_factor, autovacuum_vacuum_threshold, autovacuum_vacuum_cost_delay, "
    "autovacuum_analyze_scale_factor, autovacuum_analyze_threshold"
)


class Migration(migrations.Migration):
    dependencies = [("tweethub", "0001_outbox")]

    operations = [
        migrations.RunSQL(
            f"ALTER TABLE tweethub_outboxtask SET ({OPTIONS})",
            reverse_sql=f"ALTER TABLE tweethub_outboxtask RESET ({NAMES})",
        ),
    ]
