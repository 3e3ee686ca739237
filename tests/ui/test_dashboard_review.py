"""Dashboard numbers and plots, the review queue and adjudication."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from labeling.models import (
    Adjudication,
    Annotation,
    LearningCurvePoint,
    ModelVersion,
    SimulationRun,
)
from labeling.selectors.dashboard import label_distribution, throughput
from labeling.selectors.labels import effective_labels
from labeling.services.review import adjudication_set

XSS = "<script>alert('x')</script>"


def plot(client, project, name):
    return client.get(reverse("ui:plot", args=[project.pk, name]))


@pytest.mark.parametrize("name", ["learning-curve", "distribution", "confusion"])
def test_plots_render_for_an_empty_project(login, project, engineer, name):
    response = plot(login(engineer), project, name)
    assert response.status_code == 200 and response["Content-Type"] == "image/svg+xml"
    assert "script-src" not in response["Content-Security-Policy"]
    assert b"<svg" in response.content


def test_dashboard_with_model_curve_and_simulation_escapes_class_names(
    login, project, engineer, annotator, queued
):
    project.classes = [XSS, "dog", "bird"]
    project.save()
    model = ModelVersion.objects.create(
        project=project,
        kind="linear",
        n_labels=3,
        holdout_accuracy=0.75,
        metrics={"confusion": [[2, 1, 0], [0, 3, 0], [1, 0, 2]]},
    )
    LearningCurvePoint.objects.create(
        project=project, model_version=model, n_labels=3, accuracy=0.75, macro_f1=0.7
    )
    SimulationRun.objects.create(
        project=project,
        result={
            "strategies": {"random": {"n_labels": [1, 3], "mean": [0.4, 0.6], "std": [0.1, 0.1]}}
        },
    )
    for sample in queued[:3]:
        Annotation.objects.create(sample=sample, annotator=annotator, label=0, time_spent_ms=3600)
    client = login(engineer)
    body = client.get(reverse("ui:dashboard", args=[project.pk])).content.decode()
    assert "0.750" in body and "simulated: random" in body
    assert "ann" in body and "1000.0" in body  # 3 labels in 10.8 s of active labeling
    for name in ("learning-curve", "distribution", "confusion"):
        svg = plot(client, project, name).content.decode()
        assert "<script>" not in svg
    assert "&lt;script&gt;" in plot(client, project, "confusion").content.decode()
    assert plot(client, project, "nope").status_code == 404


def test_throughput_and_distribution(project, annotator, annotator2, queued):
    Annotation.objects.create(
        sample=queued[0], annotator=annotator, label=1, time_spent_ms=1800_000
    )
    Annotation.objects.create(
        sample=queued[1], annotator=annotator, label=1, time_spent_ms=1800_000
    )
    Annotation.objects.create(sample=queued[1], annotator=annotator2, label=2)
    rows = {r["annotator"]: r for r in throughput(project=project)}
    assert rows["ann"]["labels"] == 2 and rows["ann"]["per_hour"] == 2.0
    assert rows["bob"]["per_hour"] is None
    assert label_distribution(project=project) == [("cat", 0), ("dog", 1), ("bird", 0)]


def test_review_lists_disagreements_and_owner_adjudicates(
    login, project, owner, annotator, annotator2, queued
):
    Annotation.objects.create(sample=queued[0], annotator=annotator, label=0)
    Annotation.objects.create(sample=queued[0], annotator=annotator2, label=1)
    Annotation.objects.create(sample=queued[1], annotator=annotator, label=2)
    Annotation.objects.create(sample=queued[1], annotator=annotator2, label=2)
    client = login(owner)
    body = client.get(reverse("ui:review", args=[project.pk])).content.decode()
    assert f'data-sample-id="{queued[0].pk}"' in body
    assert f'data-sample-id="{queued[1].pk}"' not in body
    assert queued[0].pk not in effective_labels(project=project)
    client.post(
        reverse("ui:adjudicate", args=[project.pk]), {"sample_id": queued[0].pk, "label": 1}
    )
    assert Adjudication.objects.get(sample=queued[0]).label == 1
    assert effective_labels(project=project)[queued[0].pk] == 1
    body = client.get(reverse("ui:review", args=[project.pk])).content.decode()
    assert 'id="review-empty"' in body


def test_annotators_cannot_review_or_adjudicate(login, project, annotator, queued):
    Annotation.objects.create(sample=queued[0], annotator=annotator, label=0)
    client = login(annotator)
    assert client.get(reverse("ui:review", args=[project.pk])).status_code == 403
    response = client.post(
        reverse("ui:adjudicate", args=[project.pk]), {"sample_id": queued[0].pk, "label": 1}
    )
    assert response.status_code == 403
    with pytest.raises(PermissionDenied):
        adjudication_set(project=project, user=annotator, sample_id=queued[0].pk, label=1)
    assert not Adjudication.objects.exists()


def test_adjudication_validates_its_input(project, engineer, annotator, queued):
    with pytest.raises(ValidationError, match="no labels"):
        adjudication_set(project=project, user=engineer, sample_id=queued[0].pk, label=1)
    Annotation.objects.create(sample=queued[0], annotator=annotator, label=0)
    with pytest.raises(ValidationError, match="not a class"):
        adjudication_set(project=project, user=engineer, sample_id=queued[0].pk, label=3)
    with pytest.raises(ValidationError, match="no such sample"):
        adjudication_set(project=project, user=engineer, sample_id=10**9, label=1)
    adjudication_set(project=project, user=engineer, sample_id=queued[0].pk, label=2, note="blurry")
    adjudication_set(project=project, user=engineer, sample_id=queued[0].pk, label=1)
    assert Adjudication.objects.get().label == 1
