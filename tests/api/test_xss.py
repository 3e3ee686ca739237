"""Script in project, class and user names: plain JSON strings in the API, escaped in pages."""

from __future__ import annotations

import html

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from labeling.models import Annotation
from tests.api.conftest import build_world
from tests.factories import UserFactory

PROJECT = '<script>alert("project")</script>'
CLASS = "<img src=x onerror=alert('class')>"
USER = "<svg onload=alert(1)>"
PAYLOADS = (PROJECT, CLASS, USER)


@pytest.fixture
def hostile(db):
    world = build_world("x", classes=(CLASS, "plain"))
    world.project.name = PROJECT
    world.project.save(update_fields=["name"])
    user = UserFactory(username=USER)
    from labeling.services.projects import membership_set

    membership_set(project=world.project, user=user, role="annotator")
    Annotation.objects.create(sample=world.samples[2], annotator=user, label=0)
    return world


def test_api_returns_payloads_as_plain_json_strings(api, hostile):
    client = api(hostile.owner)
    project = client.get(f"/api/v1/projects/{hostile.project.pk}/")
    assert project["Content-Type"] == "application/json"
    assert project.json()["name"] == PROJECT and project.json()["classes"][0] == CLASS
    members = client.get("/api/v1/memberships/", {"project": hostile.project.pk}).json()
    assert USER in {m["username"] for m in members["results"]}
    annotations = client.get("/api/v1/annotations/", {"project": hostile.project.pk}).json()
    assert USER in {a["annotator"] for a in annotations["results"]}
    assert project["X-Content-Type-Options"] == "nosniff"


def _page_routes(resolver=None, prefix=""):
    """(route, converter names) of every page outside /api/ and /admin/."""
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        route = prefix + str(entry.pattern)
        if route.startswith(("api/", "admin/", "media/", "static/")):
            continue
        if isinstance(entry, URLResolver):
            yield from _page_routes(entry, route)
        elif isinstance(entry, URLPattern):
            yield route, entry


def _fill(route: str, world) -> str | None:
    values = {
        "project_id": world.project.pk,
        "sample_id": world.samples[0].pk,
        "job_id": world.job.pk,
        "pk": world.project.pk,
    }
    path = route
    while "<" in path:
        start, end = path.index("<"), path.index(">")
        name = path[start + 1 : end].split(":")[-1]
        if name not in values:
            return None
        path = path[:start] + str(values[name]) + path[end + 1 :]
    return "/" + path.lstrip("^").rstrip("$")


def test_every_page_escapes_the_payloads(client, hostile):
    client.force_login(hostile.owner)
    seen = 0
    shown = 0
    for route, _ in _page_routes():
        path = _fill(route, hostile)
        if path is None:
            continue
        response = client.get(path)
        if response.status_code != 200 or "text/html" not in response.get("Content-Type", ""):
            continue
        seen += 1
        page = response.content.decode()
        for payload in PAYLOADS:
            assert payload not in page, (path, payload)
            if html.escape(payload, quote=False) in page or html.escape(payload) in page:
                shown += 1
    assert seen >= 1
    assert shown >= 1  # the home page at least lists the project by its (escaped) name
