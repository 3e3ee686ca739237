"""Annotators label; they cannot configure, start jobs, export, upload, or read hidden labels."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.api.snapshot import snapshot
from tests.factories import png_bytes


def _refusals(client, world):
    pk = world.project.pk
    yield client.patch(f"/api/v1/projects/{pk}/", {"name": "renamed"}, format="json")
    yield client.patch(f"/api/v1/projects/{pk}/loop/", {"batch_size": 5}, format="json")
    for kind in ("pretrain", "round", "simulate"):
        body = {"project": pk, "kind": kind, "strategies": ["random"], "budget": 10}
        yield client.post("/api/v1/jobs/", body, format="json")
    yield client.post(f"/api/v1/jobs/{world.job.pk}/cancel/")
    for kind in ("csv", "jsonl", "coco", "imagefolder"):
        yield client.get(f"/api/v1/projects/{pk}/export/", {"kind": kind})
    upload = SimpleUploadedFile("a.png", png_bytes((4, 4), (1, 2, 3)), content_type="image/png")
    yield client.post(f"/api/v1/projects/{pk}/upload/", {"file": upload}, format="multipart")
    csv_file = SimpleUploadedFile("l.csv", b"sample_id,label\n1,cat\n", content_type="text/csv")
    yield client.post(
        f"/api/v1/projects/{pk}/import-labels/", {"file": csv_file}, format="multipart"
    )
    body = {"project": pk, "username": "a-engineer", "role": "owner"}
    yield client.post("/api/v1/memberships/", body, format="json")
    yield client.patch(
        f"/api/v1/memberships/{world.membership.pk}/", {"role": "owner"}, format="json"
    )
    yield client.delete(f"/api/v1/memberships/{world.membership.pk}/")


def test_annotators_are_refused_with_403_and_a_reason(api, world_a):
    before = snapshot(world_a.project.pk)
    responses = list(_refusals(api(world_a.annotator), world_a))
    assert len(responses) == 15
    for response in responses:
        assert response.status_code == 403, response.content[:300]
        assert "annotator" in response.json()["detail"]
    assert snapshot(world_a.project.pk) == before


def test_engineers_cannot_manage_members(api, world_a):
    client = api(world_a.engineer)
    membership = world_a.membership.pk
    response = client.patch(f"/api/v1/memberships/{membership}/", {"role": "owner"}, format="json")
    assert response.status_code == 403
    assert "only a project owner may change roles" in response.json()["detail"]
    assert client.delete(f"/api/v1/memberships/{membership}/").status_code == 403


def test_annotators_never_see_oracle_or_other_annotators_labels(api, world_a):
    client = api(world_a.annotator)
    rows = client.get("/api/v1/samples/", {"project": world_a.project.pk}).json()["results"]
    assert len(rows) == 5
    assert all(row["oracle_label"] is None for row in rows)
    by_id = {row["id"]: row for row in rows}
    own, others = world_a.samples[0].pk, world_a.samples[1].pk
    assert by_id[own]["label"] == 0 and by_id[own]["annotators"] == ["a-annotator"]
    # Labeled and adjudicated by others: nothing of it shows.
    assert by_id[others]["label"] is None and by_id[others]["annotators"] == []
    detail = client.get(f"/api/v1/samples/{others}/").json()
    assert detail["oracle_label"] is None and detail["label"] is None

    annotations = client.get("/api/v1/annotations/").json()["results"]
    assert [a["annotator"] for a in annotations] == ["a-annotator"]


@pytest.mark.parametrize("role", ["owner", "engineer"])
def test_managers_see_labels_and_oracle(api, world_a, role):
    client = api(getattr(world_a, role))
    rows = client.get("/api/v1/samples/", {"project": world_a.project.pk}).json()["results"]
    by_id = {row["id"]: row for row in rows}
    assert {row["oracle_label"] for row in rows} == {1, 2}
    assert by_id[world_a.samples[1].pk]["label"] == 2  # adjudicated
    assert by_id[world_a.samples[0].pk]["prediction"] == {
        "label": 0,
        "confidence": 0.6,
        "score": 0.4,
    }
    annotations = client.get("/api/v1/annotations/", {"project": world_a.project.pk}).json()
    assert {a["annotator"] for a in annotations["results"]} == {"a-annotator", "a-engineer"}


def test_annotators_may_read_progress_jobs_and_models(api, world_a):
    client = api(world_a.annotator)
    pk = world_a.project.pk
    assert client.get(f"/api/v1/projects/{pk}/progress/").json()["samples"] == 5
    assert client.get("/api/v1/jobs/", {"project": pk}).json()["count"] == 1
    assert client.get("/api/v1/model-versions/").json()["count"] == 1
    loop = client.get(f"/api/v1/projects/{pk}/loop/")
    assert loop.status_code == 200 and loop.json()["strategy"] == "hybrid"
