"""The data model's guarantees, again on the real PostgreSQL server."""

import pytest

from tests.labeling.test_models import (  # noqa: F401  (collected again under this marker)
    test_database_refuses_second_active_training_job,
    test_one_annotation_per_sample_and_annotator,
    test_sample_hash_unique_within_project_only,
)

pytestmark = [pytest.mark.services, pytest.mark.django_db]


def test_running_on_postgres():
    from django.db import connection

    assert connection.vendor == "postgresql"
