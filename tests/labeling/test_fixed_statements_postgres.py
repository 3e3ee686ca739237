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
