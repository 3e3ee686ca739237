"""The fixed statements again on the real PostgreSQL server (its JSON and time types)."""

import pytest

from tests.labeling.test_fixed_statements import *  # noqa: F403  (collected again under this marker)

pytestmark = [pytest.mark.services, pytest.mark.django_db]


@pytest.mark.django_db(transaction=True)
def test_fixed_statements_keep_one_cursor_while_the_connection_lasts():
    from django.db import DataError, connection

    from labeling.selectors import sql

    connection.close()
    assert sql.fetch("SELECT %s", [1]) == [(1,)]
    kept = connection._quarry_cursor[1]
    assert sql.fetch("SELECT %s", [2]) == [(2,)]
    assert connection._quarry_cursor[1] is kept
    with pytest.raises(DataError):  # as a Django error, and the cursor still serves
        sql.fetch("SELECT 1 / %s", [0])
    assert sql.fetch("SELECT %s", [3]) == [(3,)]
    assert connection._quarry_cursor[1] is kept
    connection.close()  # a new database connection gets a cursor of its own
    assert sql.fetch("SELECT %s", [4]) == [(4,)]
    assert connection._quarry_cursor[1] is not kept and kept.connection.closed


def test_a_kept_cursor_refuses_an_event_loop_as_django_cursors_do(monkeypatch):
    import asyncio

    from django.core.exceptions import SynchronousOnlyOperation
    from django.db import connection

    from labeling.selectors import sql

    async def from_a_coroutine():
        monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        assert sql.fetch("SELECT %s", [1]) == [(1,)]  # this context's cursor, kept
        monkeypatch.delenv("DJANGO_ALLOW_ASYNC_UNSAFE")
        try:
            with pytest.raises(SynchronousOnlyOperation):
                sql.fetch("SELECT %s", [2])
        finally:
            monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
            connection.close()

    asyncio.run(from_a_coroutine())
