"""``test_hostile_input.py`` again with PostgreSQL behind the API: the token's
user and project read in one statement, get-next's database function, the fixed statements'
kept cursor and PostgreSQL's own errors. These run inside the test's transaction, where a
label takes the locked path; ``test_fuzz_postgres.py`` and ``test_queue_direct_postgres.py``
run outside one, as a web worker does."""

import pytest

from tests.api.test_hostile_input import *  # noqa: F403  (collected again under this marker)

pytestmark = [pytest.mark.services]
