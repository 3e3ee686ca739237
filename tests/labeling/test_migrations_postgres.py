"""Migration 0003 creates get-next's database function on PostgreSQL and its reversal
drops it; 0004 gives it its own planner settings and takes them back."""

import pytest
from django.core.management import call_command
from django.db import connection

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def function_exists() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_proc WHERE proname = 'quarry_queue_next'")
        return cursor.fetchone()[0] == 1


def test_the_queue_function_comes_and_goes_with_its_migration():
    assert function_exists()
    try:
        call_command("migrate", "labeling", "0002", verbosity=0)
        assert not function_exists()
    finally:
        call_command("migrate", "labeling", verbosity=0)
    assert function_exists()


def function_settings() -> tuple[list[str] | None, float]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT proconfig, prorows FROM pg_proc WHERE proname = 'quarry_queue_next'")
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
