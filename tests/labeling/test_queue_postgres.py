"""The queue's behaviour, again on the real PostgreSQL server (SKIP LOCKED path)."""

import pytest

from tests.labeling.test_queue import *  # noqa: F403  (collected again under this marker)

pytestmark = [pytest.mark.services, pytest.mark.django_db]
