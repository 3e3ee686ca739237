"""Migration 0003 creates get-next's database function on PostgreSQL and its reversal
drops it; 0004 gives it its own planner settings and takes them back; 0005 drops the
indexes a label writes to and nothing reads, and its reversal brings them back; 0006
keeps vacuum from truncating the queue's tables, and its reversal lets it again; 0007
creates the function that stores a held label and gets the next, with the same settings,
and its reversal drops it."""

import pytest
from django.core.management import call_command
from django.db import connection

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def function_exists(name: str = "quarry_queue_next") -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_proc WHERE proname = %s", [name])
        return cursor.fetchone()[0] == 1


def test_the_queue_function_comes_and_goes_with_its_migration():
    assert function_exists()
    try:
        call_command("migrate", "labeling", "0002", verbosity=0)
        assert not function_exists()
    finally:
        call_command("migrate", "labeling", verbosity=0)
    assert function_exists()


def function_settings(name: str = "quarry_queue_next") -> tuple[list[str] | None, float]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT proconfig, prorows FROM pg_proc WHERE proname = %s", [name])
        return cursor.fetchone()


def test_the_queue_function_plans_once_per_connection_without_jit_for_a_few_rows():
    planned = (["plan_cache_mode=force_generic_plan", "jit=off"], 5)
    assert function_settings() == planned
    try:
        call_command("migrate", "labeling", "0003", verbosity=0)
        assert function_settings() == (None, 1000)
    finally:
        call_command("migrate", "labeling", verbosity=0)
    assert function_settings() == planned


def index_columns() -> dict[str, tuple[str, list[str]]]:
    """Each index of the tables a label writes to, unique ones included but not the
    primary keys -> (table, its columns in order)."""
    found = {}
    with connection.cursor() as cursor:
        for table in ("labeling_annotation", "labeling_queueitem", "labeling_reservation"):
            for name, info in connection.introspection.get_constraints(cursor, table).items():
                if (info["index"] or info["unique"]) and not info["primary_key"]:
                    found[name] = (table, info["columns"])
    return found


SPARE = [  # each covered by an index that leads with the same columns
    ("labeling_annotation", ["sample_id"]),
    ("labeling_annotation", ["annotator_id"]),
    ("labeling_queueitem", ["project_id"]),
    ("labeling_queueitem", ["project_id", "state", "position"]),
    ("labeling_reservation", ["item_id"]),
    ("labeling_reservation", ["user_id"]),
]
COVERING = [
    ("labeling_annotation", ["sample_id", "annotator_id"]),
    ("labeling_annotation", ["annotator_id", "created_at"]),
    ("labeling_annotation", ["idempotency_key"]),
    ("labeling_queueitem", ["project_id", "position"]),
    ("labeling_reservation", ["item_id", "user_id"]),
    ("labeling_reservation", ["user_id", "expires_at"]),
]


def test_a_label_writes_no_index_that_another_index_covers():
    before = index_columns()
    assert not [name for name, index in before.items() if index in SPARE]
    assert not [name for name in before if name.endswith("_like")]
    assert all(index in before.values() for index in COVERING)
    try:
        call_command("migrate", "labeling", "0004", verbosity=0)
        after = index_columns()
        assert all(index in after.values() for index in SPARE)
        like = [index for name, index in after.items() if name.endswith("_like")]
        assert like == [("labeling_annotation", ["idempotency_key"])]
    finally:
        call_command("migrate", "labeling", verbosity=0)
    assert index_columns() == before


def truncates() -> dict[str, list[str] | None]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname, reloptions FROM pg_class WHERE relname IN "
            "('labeling_reservation', 'labeling_queueitem') ORDER BY relname"
        )
        return dict(cursor.fetchall())


def test_vacuum_never_truncates_the_queue_tables_under_the_annotators():
    kept = {
        "labeling_queueitem": ["vacuum_truncate=false"],
        "labeling_reservation": ["vacuum_truncate=false"],
    }
    assert truncates() == kept
    try:
        call_command("migrate", "labeling", "0005", verbosity=0)
        assert truncates() == {"labeling_queueitem": None, "labeling_reservation": None}
    finally:
        call_command("migrate", "labeling", verbosity=0)
    assert truncates() == kept


def test_the_label_function_comes_and_goes_with_its_migration():
    planned = (["plan_cache_mode=force_generic_plan", "jit=off"], 5)
    assert function_settings("quarry_label_held") == planned
    try:
        call_command("migrate", "labeling", "0006", verbosity=0)
        assert not function_exists("quarry_label_held")
        assert function_exists("quarry_queue_next")
    finally:
        call_command("migrate", "labeling", verbosity=0)
    assert function_settings("quarry_label_held") == planned
