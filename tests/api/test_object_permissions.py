"""A member of project A gets 404 for every object of project B, on every route and method.

The cases come from the served OpenAPI schema: a new route is walked as soon as it exists
(and fails here until ``build_world`` has an object for it).
"""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from tests.api.routes import METHODS, PARAM, PUBLIC, fill_path, operations, request_body
from tests.api.snapshot import snapshot

DETAIL = [(p, m, op) for p, m, op in operations() if PARAM.search(p)]
COLLECTION = [(p, m, op) for p, m, op in operations() if not PARAM.search(p) and p not in PUBLIC]
DETAIL_PATHS = sorted({p for p, _, _ in DETAIL})
IDS = {"projects": 0, "samples": 0}


def case_id(value) -> str:
    return value.upper() if value in METHODS else "" if isinstance(value, dict) else str(value)


def _send(client: APIClient, method: str, path: str, operation: dict | None, ids: dict):
    body, fmt = request_body(operation or {}, ids)
    if fmt == "multipart" and body is not None:
        body = {
            k: SimpleUploadedFile("x.png", v) if isinstance(v, bytes) else v
            for k, v in body.items()
        }
        return getattr(client, method)(path, body, format="multipart")
    if body is None:
        return getattr(client, method)(path)
    return getattr(client, method)(path, json.dumps(body), content_type="application/json")


def _as_text(response) -> str:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content).decode(errors="replace")
    return response.content.decode(errors="replace")


def test_the_schema_has_routes_to_walk():
    assert len(DETAIL) >= 15
    assert any("/export/" in p for p, _, _ in DETAIL)


@pytest.mark.parametrize("role", ["owner", "annotator"])
@pytest.mark.parametrize(("path", "method", "operation"), DETAIL, ids=case_id)
def test_other_projects_objects_are_404(api, world_a, world_b, role, path, method, operation):
    client = api(getattr(world_a, role))
    url = fill_path(path, world_b.objects)
    before = snapshot(world_b.project.pk)
    response = _send(client, method, url, operation, world_b.objects)
    assert response.status_code == 404, (url, method, _as_text(response)[:300])
    body = response.json()
    assert body["detail"]
    text = json.dumps(body)
    assert world_b.project.name not in text
    assert snapshot(world_b.project.pk) == before


@pytest.mark.parametrize("path", DETAIL_PATHS)
def test_undeclared_methods_do_not_reveal_objects(api, world_a, world_b, path):
    declared = {m for p, m, _ in DETAIL if p == path}
    client = api(world_a.owner)
    before = snapshot(world_b.project.pk)
    for method in set(METHODS) - declared:
        response = getattr(client, method)(fill_path(path, world_b.objects))
        assert response.status_code in (404, 405), (path, method, response.status_code)
    assert snapshot(world_b.project.pk) == before


@pytest.mark.parametrize("path", sorted({p for p, m, _ in DETAIL if m == "get"}))
def test_own_objects_are_found(api, world_a, path):
    """The same reads on the user's own project succeed (the 404s above are real)."""
    response = api(world_a.owner).get(fill_path(path, world_a.objects))
    assert response.status_code == 200, (path, _as_text(response)[:300])


@pytest.mark.parametrize(("path", "method", "operation"), DETAIL, ids=case_id)
def test_anonymous_requests_are_refused(world_b, path, method, operation):
    client = APIClient()
    before = snapshot(world_b.project.pk)
    response = _send(client, method, fill_path(path, world_b.objects), operation, world_b.objects)
    assert response.status_code in (401, 403), (path, method, response.status_code)
    assert snapshot(world_b.project.pk) == before


@pytest.mark.parametrize(
    ("path", "method", "operation"),
    [c for c in COLLECTION if c[1] == "get"],
    ids=case_id,
)
def test_lists_filtered_to_another_project_are_empty(
    api, world_a, world_b, path, method, operation
):
    client = api(world_a.owner)
    response = client.get(path, {"project": world_b.project.pk})
    assert response.status_code in (200, 400), (path, response.status_code)
    if response.status_code == 200:
        body = response.json()
        rows = body["results"] if isinstance(body, dict) and "results" in body else body
        if isinstance(rows, list):
            assert all(row.get("project") != world_b.project.pk for row in rows)
            assert all(row.get("name") != world_b.project.name for row in rows)
    unfiltered = _as_text(client.get(path))
    assert world_b.project.name not in unfiltered
    assert "b-annotator" not in unfiltered


@pytest.mark.parametrize(
    ("path", "method", "operation"),
    [c for c in COLLECTION if c[1] != "get" and "project" in (request_body(c[2], IDS)[0] or {})],
    ids=case_id,
)
def test_creating_in_another_project_is_404(api, world_a, world_b, path, method, operation):
    before = snapshot(world_b.project.pk)
    response = _send(api(world_a.owner), method, path, operation, world_b.objects)
    assert response.status_code == 404, (path, method, _as_text(response)[:300])
    assert snapshot(world_b.project.pk) == before
