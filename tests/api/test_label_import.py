"""CSV import of labels, oracle labels and predictions: all rows or none, per-row errors."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from labeling.models import Annotation, ModelVersion, Prediction, QueueItem, Sample
from tests.api.snapshot import snapshot


def _post(client, world, text: str | bytes, kind="labels"):
    data = text.encode() if isinstance(text, str) else text
    upload = SimpleUploadedFile("labels.csv", data, content_type="text/csv")
    return client.post(
        f"/api/v1/projects/{world.project.pk}/import-labels/",
        {"file": upload, "kind": kind},
        format="multipart",
    )


@pytest.fixture
def engineer(api, world_a):
    return api(world_a.engineer)


def test_labels_become_the_importers_annotations(engineer, world_a):
    s = world_a.samples
    text = f"sha256,label\n{s[2].sha256},dog\n{s[3].sha256},0\n{s[1].sha256},cat\n"
    response = _post(engineer, world_a, text)
    assert response.status_code == 201, response.content
    report = response.json()["report"]
    assert (report["rows"], report["created"], report["updated"]) == (3, 2, 1)
    mine = dict(
        Annotation.objects.filter(annotator=world_a.engineer).values_list("sample_id", "label")
    )
    assert mine == {s[1].pk: 0, s[2].pk: 1, s[3].pk: 0}
    assert QueueItem.objects.get(sample=s[2]).state == QueueItem.State.DONE


def test_bad_rows_are_listed_and_nothing_is_written(engineer, world_a):
    s = world_a.samples
    text = (
        "sample_id,label\n"
        f"{s[2].pk},dog\n"
        "999999,cat\n"
        f"{s[3].pk},unicorn\n"
        f"{s[2].pk},cat\n"
        "abc,cat\n"
        f"{s[3].pk},7\n"
    )
    before = snapshot(world_a.project.pk)
    response = _post(engineer, world_a, text)
    assert response.status_code == 400
    body = response.json()
    assert "5 of 6 rows are wrong; nothing was imported" == body["detail"]
    errors = {e["row"]: e["error"] for e in body["report"]["errors"]}
    assert "no sample with sample_id '999999'" in errors[3]
    assert "'unicorn' is not a class" in errors[4]
    assert "listed twice (also on line 2)" in errors[5]
    assert "not a number" in errors[6]
    assert "out of range" in errors[7]
    assert snapshot(world_a.project.pk) == before


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("file_name,colour\nx,red\n", "lacks the column(s): label"),
        ("label\ncat\n", "sample_id or sha256 or file_name"),
        ("sample_id,label\n", "no rows"),
        (b"sample_id,label\n1,\xff\xfe\n", "not UTF-8"),
    ],
)
def test_malformed_files_are_refused_with_the_reason(engineer, world_a, data, message):
    before = snapshot(world_a.project.pk)
    response = _post(engineer, world_a, data)
    assert response.status_code == 400
    assert message in response.json()["detail"]
    assert snapshot(world_a.project.pk) == before


def test_predictions_become_a_model_version(engineer, world_a):
    s = world_a.samples
    text = f"sample_id,prediction,confidence,score\n{s[2].pk},bird,0.9,0.1\n{s[3].pk},1,0.55,\n"
    response = _post(engineer, world_a, text, kind="predictions")
    assert response.status_code == 201, response.content
    version = ModelVersion.objects.get(pk=response.json()["report"]["model_version_id"])
    assert version.kind == "imported"
    rows = Prediction.objects.filter(model_version=version).order_by("sample_id")
    assert [(p.predicted_label, p.confidence, p.score) for p in rows] == [
        (2, 0.9, 0.1),
        (1, 0.55, None),
    ]
    bad = _post(
        engineer, world_a, f"sample_id,prediction,confidence\n{s[2].pk},0,1.5\n", "predictions"
    )
    assert bad.status_code == 400 and "outside [0, 1]" in bad.json()["report"]["errors"][0]["error"]


def test_predictions_for_a_few_samples_leave_the_others_and_the_trained_model(
    engineer, world_a, client
):
    """Imported predictions are each sample's newest; the rest keep the trained model's, and
    the dashboard and project page keep showing the trained model and its metrics."""
    from labeling.selectors.dashboard import current_model

    s, trained = world_a.samples, world_a.model_version
    text = f"sample_id,prediction,confidence\n{s[2].pk},bird,0.9\n"
    assert _post(engineer, world_a, text, kind="predictions").status_code == 201
    expected = {
        s[0].pk: (0, 0.6),
        s[1].pk: (1, 0.6),
        s[2].pk: (2, 0.9),  # imported
        s[3].pk: (0, 0.6),
        s[4].pk: None,  # the holdout sample: never predicted
    }
    listed = engineer.get("/api/v1/samples/", {"project": world_a.project.pk}).json()["results"]
    predictions = {r["id"]: r["prediction"] for r in listed}
    assert {pk: p and (p["label"], p["confidence"]) for pk, p in predictions.items()} == expected
    export = engineer.get(f"/api/v1/projects/{world_a.project.pk}/export/", {"kind": "jsonl"})
    exported = [json.loads(line) for line in b"".join(export.streaming_content).splitlines()]
    assert {
        r["sample_id"]: (r["prediction_index"], r["confidence"]) if r["prediction"] else None
        for r in exported
    } == expected
    assert current_model(project=world_a.project) == trained
    client.force_login(world_a.engineer)
    page = client.get(f"/projects/{world_a.project.pk}/")
    assert f"holdout accuracy (model {trained.pk})" in page.content.decode()


def test_oracle_labels_by_file_name(engineer, world_a):
    sample = world_a.samples[3]
    Sample.objects.filter(pk=sample.pk).update(original_name="scan-17.png")
    response = _post(engineer, world_a, "file_name,label\nscan-17.png,bird\n", kind="oracle")
    assert response.status_code == 201, response.content
    assert Sample.objects.get(pk=sample.pk).oracle_label == 2
    assert not Annotation.objects.filter(sample=sample).exists()
