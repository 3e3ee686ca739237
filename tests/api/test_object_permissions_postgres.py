"""``test_object_permissions.py`` again with PostgreSQL behind the API, where the labeling calls take
their one-statement paths and the fixed statements their kept cursor."""

import pytest

from tests.api.test_object_permissions import *  # noqa: F403  (collected again under this marker)

pytestmark = [pytest.mark.services]
