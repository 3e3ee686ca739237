"""The fixed statements again on the real PostgreSQL server (its JSON and time types)."""

import pytest

from tests.labeling.test_fixed_statements import *  # noqa: F403  (collected again under this marker)

pytestmark = [pytest.mark.services, pytest.mark.django_db]
