"""The schema is served, valid, and the docs page lists every operation without a CDN;
the README lists every management command with its options."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.core.management import BaseCommand, get_commands, load_command_class
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


def _long_options(command: BaseCommand, name: str) -> set[str]:
    parser = command.create_parser("manage.py", name)
    return {o for action in parser._actions for o in action.option_strings if o.startswith("--")}


def test_readme_lists_every_management_command_with_its_options():
    rows = {}
    for line in README.read_text().splitlines():
        if found := re.match(r"\| `manage\.py (\w+)", line):
            rows[found[1]] = line
    commands = sorted(name for name, app in get_commands().items() if app == "labeling")
    assert commands  # the project's own commands were found
    common = _long_options(BaseCommand(), "command")
    for name in commands:
        assert name in rows, f"README's table of commands has no row for {name}"
        # every Django command has --verbosity, --settings...: the README names a command's own
        options = _long_options(load_command_class("labeling", name), name) - common
        missing = sorted(options - set(re.findall(r"--[\w-]+", rows[name])))
        assert not missing, f"README's row for {name} does not name {missing}"
