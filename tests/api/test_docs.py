"""The schema is served, valid, and the docs page lists every operation without a CDN."""

from __future__ import annotations

import pytest
from drf_spectacular.validation import validate_schema

from tests.api.routes import operations, schema


def test_schema_is_valid_openapi_and_served(client, db):
    validate_schema(schema())
    response = client.get("/api/v1/schema/", {"format": "json"})
    assert response.status_code == 200
    assert response.json()["info"]["title"] == "Quarry API"


@pytest.mark.django_db
def test_docs_page_lists_every_operation_and_loads_nothing_remote(client):
    response = client.get("/api/v1/docs/")
    assert response.status_code == 200
    page = response.content.decode()
    for path, method, _ in operations():
        assert path in page and method.upper() in page
    assert "<script" not in page and "cdn" not in page.lower()


def test_every_operation_documents_its_errors():
    for path, method, operation in operations():
        if path == "/api/v1/schema/":
            continue
        assert {"400", "403", "404"} <= set(operation["responses"]), (method, path)
