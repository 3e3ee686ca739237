"""The schema is served, valid, and the docs page lists every operation without a CDN;
the README lists every management command with its options."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.core.management import get_commands, load_command_class
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


README = Path(__file__).resolve().parents[2] / "README.md"
# the options every Django command has; the README lists only a command's own
DJANGO_OPTIONS = {
    "--help",
    "--version",
    "--verbosity",
    "--settings",
    "--pythonpath",
    "--traceback",
    "--no-color",
    "--force-color",
    "--skip-checks",
}


def test_readme_lists_every_management_command_with_its_options():
    rows = {}
    for line in README.read_text().splitlines():
        if found := re.match(r"\| `manage\.py (\w+)", line):
            rows[found[1]] = line
    commands = sorted(name for name, app in get_commands().items() if app == "labeling")
    assert commands  # the project's own commands were found
    for name in commands:
        assert name in rows, f"README's table of commands has no row for {name}"
        parser = load_command_class("labeling", name).create_parser("manage.py", name)
        options = {o for a in parser._actions for o in a.option_strings if o.startswith("--")}
        missing = sorted(options - DJANGO_OPTIONS - set(re.findall(r"--[\w-]+", rows[name])))
        assert not missing, f"README's row for {name} does not name {missing}"
