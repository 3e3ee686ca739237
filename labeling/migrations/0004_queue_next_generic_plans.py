"""PostgreSQL: get-next's function plans its statements once per connection, and says
how many rows it returns.

PL/pgSQL keeps a plan for each statement of ``quarry_queue_next``, but under
``plan_cache_mode = auto`` PostgreSQL planned the candidate query afresh on every call:
the generic plan's estimate (a ``LIMIT`` of a variable counts as a tenth of the queue)
looked costlier than the custom plans, so each call spent about 0.3 ms planning for
0.05 ms of work. The generic plan walks the same open-items index in queue order. With
its high estimate it also crosses ``jit_above_cost``, and compiling it took 16 ms a call.
So the function runs with ``plan_cache_mode = force_generic_plan`` and ``jit = off``, its
own settings (the caller's are restored when it returns).

It also tells the planner how many rows it returns: a few (``count``, 1 to 100; the label
view asks for 1 to 5). Without it PostgreSQL guesses 1,000 for a function that returns a
set, and the statement that joins the handed-out samples and their predictions
(``queue_sql.next_locked``) hashed the whole pool for them: 26-32 ms a call.
"""

from django.db import migrations

SIGNATURE = (
    "quarry_queue_next(bigint, integer, timestamptz, timestamptz, integer, integer, "
    "integer, integer)"
)
SETTINGS = {"plan_cache_mode": "force_generic_plan", "jit": "off"}
ROWS = 5
DEFAULT_ROWS = 1000  # PostgreSQL's for a function that returns a set


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for name, value in SETTINGS.items():
            schema_editor.execute(f"ALTER FUNCTION {SIGNATURE} SET {name} = {value}")
        schema_editor.execute(f"ALTER FUNCTION {SIGNATURE} ROWS {ROWS}")


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for name in SETTINGS:
            schema_editor.execute(f"ALTER FUNCTION {SIGNATURE} RESET {name}")
        schema_editor.execute(f"ALTER FUNCTION {SIGNATURE} ROWS {DEFAULT_ROWS}")


class Migration(migrations.Migration):
    dependencies = [("labeling", "0003_queue_next_function")]

    operations = [migrations.RunPython(forwards, backwards)]
