"""The parts that differ on PostgreSQL: server-side cursors in exports, out-of-range numbers."""

from __future__ import annotations

import csv
import io

import pytest

from labeling.selectors.exports import export_rows
from tests.factories import SampleFactory

pytestmark = pytest.mark.services


def test_export_streams_in_chunks_with_queries_between_them(api, world_a):
    SampleFactory.create_batch(11, project=world_a.project)
    rows = list(export_rows(project=world_a.project, chunk_size=4))
    assert [r.sample_id for r in rows] == sorted(r.sample_id for r in rows)
    assert len(rows) == 16 and rows[0].annotators == ["a-annotator"]
    response = api(world_a.owner).get(
        f"/api/v1/projects/{world_a.project.pk}/export/", {"kind": "csv"}
    )
    data = b"".join(response.streaming_content).decode()
    assert len(list(csv.DictReader(io.StringIO(data)))) == 16


def test_numbers_postgres_cannot_hold_are_a_400(api, world_a):
    response = api(world_a.annotator).post(
        f"/api/v1/projects/{world_a.project.pk}/queue/release/",
        {"sample_ids": [1, 2**70]},
        format="json",
    )
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
