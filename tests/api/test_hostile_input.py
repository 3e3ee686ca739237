"""Hostile files, bodies and parameters: each gets a 4xx with a clear message and changes nothing."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from labeling.models import Sample
from tests.api.routes import PARAM, operations
from tests.api.snapshot import snapshot
from tests.factories import png_bytes


def _zip(members: dict[str, bytes], compression=zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), (200, 10, 10)).save(buffer, format="JPEG")
    return buffer.getvalue()


def _huge_png() -> bytes:
    buffer = io.BytesIO()
    Image.new("1", (9000, 9000)).save(buffer, format="PNG")
    return buffer.getvalue()


HOSTILE_FILES = {
    "zip-slip": ("evil.zip", lambda: _zip({"../../escaped.png": png_bytes((4, 4), (9, 9, 9))})),
    "zip-slip-deep": (
        "deep.zip",
        lambda: _zip({"cats/../../../escaped.png": png_bytes((4, 4), (7, 9, 9))}),
    ),
    "absolute-path": ("abs.zip", lambda: _zip({"/tmp/escaped.png": png_bytes((4, 4), (8, 8, 8))})),
    "zip-bomb": ("bomb.zip", lambda: _zip({"big.png": b"\0" * (30 * 1024 * 1024)})),
    "pixel-bomb": ("pixels.png", _huge_png),
    "truncated-jpeg": ("cut.jpg", lambda: _jpeg()[:300]),
    "text-as-png": ("notes.png", lambda: b"this is not an image, only text\n" * 10),
    "not-a-zip": ("broken.zip", lambda: b"PK\x03\x04 garbage"),
}


def _upload(client, world, name: str, data: bytes, **fields):
    upload = SimpleUploadedFile(name, data, content_type="application/octet-stream")
    return client.post(
        f"/api/v1/projects/{world.project.pk}/upload/",
        {"file": upload, **fields},
        format="multipart",
    )


@pytest.fixture
def owner(api, world_a):
    return api(world_a.owner)


def _files_under(root: Path) -> set[str]:
    return {str(p) for p in root.rglob("*") if p.is_file()} if root.exists() else set()


@pytest.mark.parametrize("attack", sorted(HOSTILE_FILES))
def test_hostile_uploads_are_refused(owner, world_a, settings, tmp_path, attack):
    name, build = HOSTILE_FILES[attack]
    before = snapshot(world_a.project.pk)
    files_before = _files_under(tmp_path)
    response = _upload(owner, world_a, name, build())
    assert 400 <= response.status_code < 500, (attack, response.content[:400])
    body = response.json()
    assert body["detail"].startswith("nothing was imported") or "file" in body.get("errors", {})
    assert len(body["detail"]) > 20
    assert snapshot(world_a.project.pk) == before
    assert _files_under(tmp_path) == files_before
    assert not list(Path("/tmp").glob("escaped.png"))


def test_a_good_upload_then_its_duplicate(owner, world_a):
    image = png_bytes((6, 6), (1, 200, 3))
    first = _upload(owner, world_a, "new.png", image)
    assert first.status_code == 201, first.content
    assert first.json()["report"]["imported"] == 1
    before = snapshot(world_a.project.pk)
    again = _upload(owner, world_a, "again.png", image)
    assert again.status_code == 409
    assert "already in the project" in again.json()["detail"]
    assert snapshot(world_a.project.pk) == before


def test_uploaded_file_names_cannot_choose_where_files_go(owner, world_a, settings):
    image = png_bytes((5, 5), (7, 70, 170))
    response = _upload(owner, world_a, "../../../../outside.png", image)
    assert response.status_code == 201, response.content
    sample = Sample.objects.filter(project=world_a.project).order_by("-pk").first()
    assert ".." not in sample.file.name
    stored = (Path(settings.MEDIA_ROOT) / sample.file.name).resolve()
    assert stored.is_relative_to(Path(settings.MEDIA_ROOT).resolve())


def test_upload_over_the_cap_is_413(owner, world_a, settings):
    settings.QUARRY_MAX_UPLOAD_BYTES = 10_000
    before = snapshot(world_a.project.pk)
    response = _upload(owner, world_a, "big.zip", b"\1" * 20_000)
    assert response.status_code == 413
    assert "the limit is 10000 bytes" in response.json()["detail"]
    assert snapshot(world_a.project.pk) == before


def test_json_body_over_the_limit_is_413(owner, world_a, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    before = snapshot(world_a.project.pk)
    body = json.dumps({"strategy_params": {"pad": "x" * 5000}})
    response = owner.patch(
        f"/api/v1/projects/{world_a.project.pk}/loop/", body, content_type="application/json"
    )
    assert response.status_code == 413
    assert "limit" in response.json()["detail"] and "1000 bytes" in response.json()["detail"]
    assert snapshot(world_a.project.pk) == before


def test_form_field_over_the_limit_is_413(owner, world_a, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = _upload(owner, world_a, "a.png", png_bytes(), labels_as="x" * 5000)
    assert response.status_code == 413
    assert "DATA_UPLOAD_MAX_MEMORY_SIZE" in response.json()["detail"]


LISTS = sorted({p for p, m, _ in operations() if m == "get" and not PARAM.search(p)})
INJECTIONS = {
    "annotator__password__startswith": "md5",
    "sample__project__memberships__user__password__startswith": "m",
    "project__memberships__user__password__startswith": "m",
    "annotator__password__regex": "^.",
    "ordering": "annotator__password",
    "project__in": "1,2,3,4,5,6,7,8,9",
    "id__gt": "0",
}


@pytest.mark.parametrize("path", LISTS)
def test_orm_lookups_in_query_params_are_ignored(api, world_a, world_b, path):
    client = api(world_a.annotator)
    baseline = client.get(path)
    for key, value in INJECTIONS.items():
        response = client.get(path, {key: value})
        assert response.status_code in (200, 400), (path, key, response.status_code)
        if response.status_code == 200:
            assert response.content == baseline.content, (path, key)
        text = response.content.decode(errors="replace")
        assert "md5$" not in text and "password" not in text.replace(key, "")


def test_file_name_filters_with_traversal_find_nothing(api, world_a):
    client = api(world_a.owner)
    for value in ("../../../../etc/passwd", "..\\..\\windows", "%2e%2e%2f", "\0"):
        response = client.get("/api/v1/samples/", {"file_name": value})
        assert response.status_code in (200, 400)
        if response.status_code == 200:
            assert response.json()["results"] == []


@pytest.mark.parametrize("raw", ["..%2F..%2Fetc", "1%00", "-1", "99999999999999999999999", "1.5"])
def test_odd_ids_in_paths_are_404(api, world_a, raw):
    response = api(world_a.owner).get(f"/api/v1/samples/{raw}/")
    assert response.status_code == 404


def test_export_file_name_is_sanitised(api, db):
    from tests.api.conftest import build_world

    world = build_world("t")
    world.project.name = '../../etc/"pass"\r\nX-Evil: 1'
    world.project.save()
    response = api(world.owner).get(f"/api/v1/projects/{world.project.pk}/export/", {"kind": "csv"})
    disposition = response["Content-Disposition"]
    assert disposition.startswith('attachment; filename="') and disposition.endswith('.csv"')
    name = disposition.split('filename="')[1][:-1]
    assert "/" not in name and '"' not in name and "\n" not in name and ".." not in name
    assert "X-Evil" not in {k for k, _ in response.items()}


def test_too_many_form_fields_is_a_json_400(owner, world_a):
    fields = {f"f{i}": "x" for i in range(1200)}
    response = owner.post(
        f"/api/v1/projects/{world_a.project.pk}/upload/", fields, format="multipart"
    )
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert "DATA_UPLOAD_MAX_NUMBER_FIELDS" in response.json()["detail"]
