"""Every page of the browser UI, for every role, and the states a project can be in."""

from __future__ import annotations

import pytest
from django.urls import reverse

from labeling.models import Annotation, Membership, ModelVersion
from tests.factories import ProjectFactory, SampleFactory

PROJECT_PAGES = ["project", "label", "grid"]
MANAGER_PAGES = ["dashboard", "review", "jobs", "configure", "import"]


def page(name, project):
    return reverse(f"ui:{name}", args=[project.pk])


@pytest.mark.parametrize("name", PROJECT_PAGES + MANAGER_PAGES)
def test_anonymous_users_are_sent_to_login(client, project, name):
    response = client.get(page(name, project))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("name", PROJECT_PAGES + MANAGER_PAGES)
def test_outsiders_get_404(login, project, outsider, name):
    assert login(outsider).get(page(name, project)).status_code == 404


@pytest.mark.parametrize("name", PROJECT_PAGES)
def test_annotators_open_labeling_pages(login, project, annotator, queued, name):
    response = login(annotator).get(page(name, project))
    assert response.status_code == 200


@pytest.mark.parametrize("name", MANAGER_PAGES)
def test_annotators_cannot_open_console_pages(login, project, annotator, name):
    assert login(annotator).get(page(name, project)).status_code == 403


@pytest.mark.parametrize("name", PROJECT_PAGES + MANAGER_PAGES)
def test_managers_open_every_page_of_an_empty_project(login, project, engineer, name):
    response = login(engineer).get(page(name, project))
    assert response.status_code == 200


def test_home_lists_only_own_projects_with_progress(login, project, annotator, queued):
    ProjectFactory(name="Someone else's")
    Annotation.objects.create(sample=queued[0], annotator=annotator, label=0)
    project.label_budget = 10
    project.save()
    body = login(annotator).get(reverse("home")).content.decode()
    assert "Birds &amp; &lt;b&gt;bees&lt;/b&gt;" in body and "<b>bees</b>" not in body
    assert "Someone else" not in body
    assert "1 / 10" in body and 'value="1"' in body


def test_project_page_states(login, project, engineer, annotator):
    client = login(engineer)
    body = client.get(page("project", project)).content.decode()
    assert 'id="state-empty"' in body and 'id="state-no-model"' in body
    samples = SampleFactory.create_batch(2, project=project)
    body = client.get(page("project", project)).content.decode()
    assert 'id="state-queue-empty"' in body
    from labeling.services.queue import queue_append

    queue_append(project=project, sample_ids=[s.pk for s in samples])
    Annotation.objects.create(sample=samples[0], annotator=annotator, label=1)
    project.label_budget = 1
    project.save()
    ModelVersion.objects.create(project=project, kind="linear", n_labels=1, holdout_accuracy=0.5)
    body = client.get(page("project", project)).content.decode()
    assert 'id="state-blocked"' in body and "budget of 1 is spent" in body
    assert 'id="state-no-model"' not in body and "0.500" in body
    assert "export/?format=csv" in body and "export/?format=imagefolder" in body


def test_annotators_see_no_exports_members_or_console_links(login, project, annotator):
    body = login(annotator).get(page("project", project)).content.decode()
    assert "export/?format" not in body and "Members" not in body
    assert page("dashboard", project) not in body


def test_label_page_escapes_class_names_and_carries_hotkeys(login, project, annotator):
    project.classes = [
        "<script>alert(1)</script>",
        "quote \" and ' & amp",
        *[f"c{i}" for i in range(40)],
    ]
    project.save()
    body = login(annotator).get(page("label", project)).content.decode()
    assert "<script>alert(1)</script>" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert "\\u003Cscript\\u003Ealert(1)\\u003C/script\\u003E" in body  # in the JSON config
    assert "<kbd>1</kbd>" in body and "<kbd>0</kbd>" in body and "<kbd>Q</kbd>" in body
    assert 'data-key="s"' not in body and 'data-key="u"' not in body and 'data-key="h"' not in body


def test_label_page_never_carries_oracle_labels(login, project, annotator, queued):
    for sample in queued:
        sample.oracle_label = 1
        sample.original_name = "dog/hidden-truth.png"
        sample.save()
    body = login(annotator).get(page("label", project)).content.decode()
    assert "oracle" not in body and "hidden-truth" not in body


def test_sample_image_is_served_to_members_only(login, project, annotator, outsider, queued):
    url = reverse("ui:sample-image", args=[project.pk, queued[0].pk])
    response = login(annotator).get(url)
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    assert b"".join(response.streaming_content).startswith(b"\x89PNG")
    other = SampleFactory(project=ProjectFactory())
    assert (
        login(annotator).get(reverse("ui:sample-image", args=[project.pk, other.pk])).status_code
        == 404
    )
    assert login(outsider).get(url).status_code == 404


def test_project_creation_for_administrators(login, client, annotator, project):
    assert login(annotator).get(reverse("ui:project-new")).status_code == 403
    annotator.is_staff = True
    annotator.save()
    response = client.post(
        reverse("ui:project-new"),
        {"name": "Leaves", "classes": "oak\nmaple\n\n<img src=x onerror=alert(1)>\n"},
    )
    from labeling.models import Project

    created = Project.objects.get(name="Leaves")
    assert response.status_code == 302 and response["Location"] == page("import", created)
    assert created.classes == ["oak", "maple", "<img src=x onerror=alert(1)>"]
    assert Membership.objects.get(project=created, user=annotator).role == "owner"
    response = client.post(reverse("ui:project-new"), {"name": "Leaves", "classes": "a"})
    assert response.status_code == 200 and "exists already" in response.content.decode()


def test_owners_add_members_by_username(login, project, owner, engineer, annotator, outsider):
    client = login(owner)
    client.post(
        reverse("ui:member-add", args=[project.pk]), {"username": "mallory", "role": "annotator"}
    )
    assert Membership.objects.get(project=project, user=outsider).role == "annotator"
    response = client.post(
        reverse("ui:member-add", args=[project.pk]),
        {"username": "nobody", "role": "annotator"},
        follow=True,
    )
    assert "invite-only" in response.content.decode()
    response = login(engineer).post(
        reverse("ui:member-add", args=[project.pk]), {"username": "ann", "role": "owner"}
    )
    assert response.status_code == 403
    assert Membership.objects.get(project=project, user=annotator).role == "annotator"


def test_forms_need_csrf_tokens(project, owner):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    response = client.post(
        reverse("ui:member-add", args=[project.pk]), {"username": "x", "role": "annotator"}
    )
    assert response.status_code == 403
    body = client.get(page("project", project)).content.decode()
    assert "csrfmiddlewaretoken" in body


@pytest.mark.parametrize("name", ["label", "grid"])
def test_labeling_pages_say_when_a_project_has_no_classes(login, project, annotator, name):
    project.classes = []
    project.save()
    body = login(annotator).get(page(name, project)).content.decode()
    assert 'id="state-no-classes"' in body


def test_managers_append_classes_and_reopen_a_done_project(login, project, engineer, annotator):
    client = login(engineer)
    client.post(reverse("ui:classes-add", args=[project.pk]), {"names": "fish\n<b>frog</b>\n"})
    project.refresh_from_db()
    assert project.classes == ["cat", "dog", "bird", "fish", "<b>frog</b>"]
    response = client.post(
        reverse("ui:classes-add", args=[project.pk]), {"names": "cat"}, follow=True
    )
    assert "appears twice" in response.content.decode()
    project.status, project.done_reason = "done", "target accuracy reached"
    project.save()
    body = client.get(page("project", project)).content.decode()
    assert "target accuracy reached" in body
    client.post(reverse("ui:project-reopen", args=[project.pk]))
    project.refresh_from_db()
    assert project.status == "active"
    assert login(annotator).post(reverse("ui:project-reopen", args=[project.pk])).status_code == 403


def test_home_without_projects(login, outsider):
    body = login(outsider).get(reverse("home")).content.decode()
    assert "You do not belong to any project yet" in body and "New project" not in body


def test_dashboard_states_no_model_and_budget_reached(login, project, engineer, annotator, queued):
    client = login(engineer)
    body = client.get(page("dashboard", project)).content.decode()
    assert "no model yet" in body and 'id="state-blocked"' not in body
    assert "No labels in the last 24 hours" in body
    Annotation.objects.create(sample=queued[0], annotator=annotator, label=2)
    project.label_budget = 1
    project.save()
    body = client.get(page("dashboard", project)).content.decode()
    assert 'id="state-blocked"' in body and "budget of 1 is spent" in body
    assert "1 of 1" not in body and "labeled of 1" in body


def test_large_images_get_a_cached_thumbnail_for_grid_mode(login, project, annotator, settings):
    import hashlib
    import io

    from django.core.files.base import ContentFile
    from PIL import Image

    from labeling.models import Sample
    from labeling.services.queue import queue_append

    buffer = io.BytesIO()
    Image.new("RGB", (1200, 600), (10, 200, 30)).save(buffer, format="PNG")
    digest = hashlib.sha256(buffer.getvalue()).hexdigest()
    sample = Sample.objects.create(
        project=project,
        file=ContentFile(buffer.getvalue(), name=f"samples/{digest}.png"),
        sha256=digest,
        width=1200,
        height=600,
    )
    queue_append(project=project, sample_ids=[sample.pk])
    client = login(annotator)
    item = client.post(
        reverse("api:queue-next", args=[project.pk]), {"count": 1}, content_type="application/json"
    ).json()["items"][0]
    assert item["thumb"].endswith("?thumb=1")
    for _ in range(2):  # made once, then served from the cache
        response = client.get(item["thumb"])
        assert response.status_code == 200
        thumb = Image.open(io.BytesIO(b"".join(response.streaming_content)))
        assert thumb.size == (256, 128)
    assert len(list((settings.MEDIA_ROOT / "thumbs").rglob("*.png"))) == 1
