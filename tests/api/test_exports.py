"""Exports stream every format with the right rows; hostile names never escape the zip."""

from __future__ import annotations

import csv
import io
import json
import zipfile

import pytest

from labeling.models import Annotation
from labeling.services.exports import CSV_COLUMNS, safe_component
from tests.api.conftest import build_world
from tests.factories import SampleFactory, UserFactory


def _get(client, world, kind, **params):
    response = client.get(f"/api/v1/projects/{world.project.pk}/export/", {"kind": kind, **params})
    assert response.status_code == 200, response.content
    assert response.streaming
    return response, b"".join(response.streaming_content)


@pytest.fixture
def owner(api, world_a):
    return api(world_a.owner)


def test_csv_has_one_row_per_sample_with_labels_and_predictions(owner, world_a):
    response, data = _get(owner, world_a, "csv")
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"] == 'attachment; filename="Project_a.csv"'
    rows = list(csv.DictReader(io.StringIO(data.decode())))
    assert list(rows[0]) == CSV_COLUMNS
    assert [int(r["sample_id"]) for r in rows] == [s.pk for s in world_a.samples]
    first, second = rows[0], rows[1]
    assert (first["label"], first["annotators"], first["agreement"]) == (
        "cat",
        "a-annotator",
        "1.0",
    )
    assert second["label"] == "bird"  # adjudicated
    assert (first["prediction"], first["confidence"]) == ("cat", "0.6")
    assert first["sha256"] == world_a.samples[0].sha256
    assert rows[4]["split"] == "holdout" and rows[4]["label"] == ""
    assert "oracle" not in data.decode()


def test_agreement_with_several_annotators(owner, world_a):
    sample = world_a.samples[2]
    for name, label in (("x1", 1), ("x2", 1), ("x3", 0)):
        Annotation.objects.create(sample=sample, annotator=UserFactory(username=name), label=label)
    _, data = _get(owner, world_a, "jsonl", labeled_only="true")
    records = [json.loads(line) for line in data.decode().splitlines()]
    row = next(r for r in records if r["sample_id"] == sample.pk)
    assert row["label"] == "dog" and row["label_index"] == 1
    assert row["annotators"] == ["x1", "x2", "x3"] and row["agreement"] == 0.6667
    assert {r["sample_id"] for r in records} == {s.pk for s in world_a.samples[:3]}


def test_coco_is_valid_json_with_categories_images_and_annotations(owner, world_a):
    _, data = _get(owner, world_a, "coco")
    coco = json.loads(data)
    assert [c["name"] for c in coco["categories"]] == ["cat", "dog", "bird"]
    assert len(coco["images"]) == 5
    assert {a["image_id"]: a["category_id"] for a in coco["annotations"]} == {
        world_a.samples[0].pk: 0,
        world_a.samples[1].pk: 2,
    }


def test_imagefolder_zip_holds_labeled_images_under_class_folders(owner, world_a):
    response, data = _get(owner, world_a, "imagefolder")
    assert response["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(data))
    assert archive.testzip() is None
    names = sorted(archive.namelist())
    assert len(names) == 2
    assert names[0].startswith("bird/") and names[1].startswith("cat/")
    assert archive.read(names[1]).startswith(b"\x89PNG")


def test_hostile_class_and_file_names_stay_inside_the_zip(api, db):
    world = build_world("z", classes=("../../etc", "a/b\\c", "..", "<script>"))
    sample = SampleFactory(project=world.project, original_name="../../../evil.png")
    Annotation.objects.create(sample=sample, annotator=world.annotator, label=0)
    for i, s in enumerate(world.samples[:3]):
        Annotation.objects.update_or_create(
            sample=s, annotator=world.annotator, defaults={"label": i % 4}
        )
    _, data = _get(api(world.owner), world, "imagefolder")
    names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    assert names
    for name in names:
        folder, file_name = name.split("/")
        assert folder and folder not in (".", "..") and ".." not in file_name
        assert not name.startswith("/") and "\\" not in name


def test_csv_cells_that_spreadsheets_would_run_are_quoted(api, db):
    world = build_world("q")
    sample = SampleFactory(project=world.project, original_name="=HYPERLINK(1)")
    _, data = _get(api(world.owner), world, "csv")
    rows = list(csv.DictReader(io.StringIO(data.decode())))
    row = next(r for r in rows if int(r["sample_id"]) == sample.pk)
    assert row["file_name"] == "'=HYPERLINK(1)"


def test_unknown_export_kind_is_400(owner, world_a):
    response = owner.get(f"/api/v1/projects/{world_a.project.pk}/export/", {"kind": "xlsx"})
    assert response.status_code == 400
    assert "kind" in response.json()["detail"]


def test_safe_component():
    assert safe_component("../..", "x") == "___"
    assert safe_component("a/b", "x") == "a_b"
    assert safe_component("", "fallback") == "fallback"


def test_export_reads_in_chunks(api, db, django_assert_max_num_queries):
    """The export query count grows with the number of chunks, not of samples."""
    from labeling.selectors.exports import export_rows

    world = build_world("c")
    SampleFactory.create_batch(30, project=world.project)
    with django_assert_max_num_queries(4 * 8 + 4):
        rows = list(export_rows(project=world.project, chunk_size=5))
    assert len(rows) == 35


def test_format_is_an_alias_of_kind(owner, world_a):
    """The project page links to ?format=...; DRF's renderer override does not take it."""
    for kind in ("csv", "jsonl", "coco", "imagefolder"):
        response = owner.get(f"/api/v1/projects/{world_a.project.pk}/export/", {"format": kind})
        assert response.status_code == 200, (kind, response.content[:200])
        assert response["Content-Disposition"].endswith(
            {"csv": '.csv"', "jsonl": '.jsonl"', "coco": '.coco.json"', "imagefolder": '.zip"'}[
                kind
            ]
        )
