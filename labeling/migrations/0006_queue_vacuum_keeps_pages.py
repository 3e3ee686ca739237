"""PostgreSQL: vacuuming the queue's tables never truncates them.

A ``VACUUM`` that finds empty pages at the end of a table gives them back to the
operating system, and to do so it takes the table's ``ACCESS EXCLUSIVE`` lock while it
checks them. The reservations table is emptied and refilled all the time (each label
deletes a reservation, each get-next inserts one), and the queue's upkeep vacuums it every
second, so the lock came often: every get-next and every submit waited behind it. In 40 s
runs of ``bench/annotate_load.py`` the slowest upkeep took 71 ms, 170 ms and 670 ms with
truncation and 27 ms and 30 ms without, and latency piled up behind the slow ones. The
pages kept are reused by the next rows.
"""

from django.db import migrations

TABLES = ("labeling_reservation", "labeling_queueitem")


def keep_pages(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for table in TABLES:
            schema_editor.execute(f"ALTER TABLE {table} SET (vacuum_truncate = false)")


def default(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for table in TABLES:
            schema_editor.execute(f"ALTER TABLE {table} RESET (vacuum_truncate)")


class Migration(migrations.Migration):
    dependencies = [("labeling", "0005_queue_spare_indexes")]

    operations = [migrations.RunPython(keep_pages, default)]
