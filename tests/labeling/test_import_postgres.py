"""Imports again on the real PostgreSQL server: rows, labels, holdout, and rollback."""

import pytest
from django.db import connection

from tests.labeling.test_import_service import (  # noqa: F401  (collected again under this marker)
    test_duplicates_within_the_project_are_skipped,
    test_failure_while_inserting_leaves_no_rows_and_no_files,
    test_holdout_is_stratified_and_reproducible,
    test_seed_labels_become_annotations_by_the_system_user,
)

pytestmark = [pytest.mark.services, pytest.mark.django_db]


def test_a_zip_imports_on_postgres(tmp_path, project):
    from labeling.models import Sample
    from labeling.services.imports import dataset_import
    from tests.labeling.test_import_archive import make_zip
    from tests.labeling.test_import_images import png

    assert connection.vendor == "postgresql"
    archive = make_zip(
        tmp_path / "a.zip",
        [(f"{c}/{i}.png", png(color=(k, i, 0))) for k, c in enumerate("xyz") for i in range(10)],
    )
    report = dataset_import(project=project, path=archive, labels_as="oracle", holdout=0.1)
    assert (report.imported, report.holdout) == (30, 3)
    assert Sample.objects.filter(project=project, split="holdout").count() == 3
