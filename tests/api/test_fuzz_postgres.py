"""The fuzzing again with the API served from PostgreSQL, where the labeling calls take
their one-statement paths and the fixed statements their kept cursor."""

import pytest

from tests.api.test_fuzz import *  # noqa: F403  (collected again under this marker)

pytestmark = [pytest.mark.services]
