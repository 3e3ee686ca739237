"""The label view, grid mode and dashboard in headless Chromium against a live server."""

from __future__ import annotations

import hashlib
import io

import pytest
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone

from labeling.models import (
    Annotation,
    Job,
    LearningCurvePoint,
    Membership,
    ModelVersion,
    Prediction,
    Sample,
    SimulationRun,
    Skip,
)
from labeling.services.projects import project_create
from labeling.services.queue import queue_append
from labeling.views.access import HOTKEYS
from tests.browser.conftest import digit_png, digit_target, heatmap_png

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "labels-are-precious-42"
CLASSES = [str(d) for d in range(10)]


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def make_user(username: str, role: str | None = None, project=None):
    user = get_user_model().objects.create_user(username=username, password=PASSWORD)
    if project is not None:
        Membership.objects.create(user=user, project=project, role=role)
    return user


@pytest.fixture
def digits_project(settings):
    owner = make_user("olivia")
    project = project_create(name="Digits <i>demo</i>", classes=CLASSES, owner=owner)
    project.loop_config.retrain_every = 0
    project.loop_config.save()
    model = ModelVersion.objects.create(
        project=project,
        kind="linear",
        n_labels=20,
        holdout_accuracy=0.81,
        metrics={
            "confusion": [
                [9 if i == j else (1 if (i + j) % 7 == 0 else 0) for j in range(10)]
                for i in range(10)
            ]
        },
    )
    samples = []
    for i in range(70):
        data = digit_png(i)
        digest = hashlib.sha256(data).hexdigest()
        samples.append(
            Sample.objects.create(
                project=project,
                file=ContentFile(data, name=f"samples/{digest}.png"),
                sha256=digest,
                width=32,
                height=32,
                oracle_label=digit_target(i),
            )
        )
    for i, sample in enumerate(samples):
        heat = default_storage.save(f"heatmaps/{model.pk}/{sample.pk}.png", heatmap_png(i))
        guess = digit_target(i) if i % 4 else (digit_target(i) + 1) % 10
        Prediction.objects.create(
            model_version=model,
            sample=sample,
            predicted_label=guess,
            confidence=0.55 + (i % 9) / 20,
            score=1.0 - i / 100,
            heatmap=heat,
        )
    queue_append(project=project, sample_ids=[s.pk for s in samples])
    return project, owner, model


def test_annotator_labels_by_keyboard_goes_back_skips_and_uses_grid(digits_project, run_scenario):
    project, _owner, model = digits_project
    ann = make_user("ann", Membership.Role.ANNOTATOR, project)
    result = run_scenario(
        "label_flow",
        username="ann",
        password=PASSWORD,
        project=project.pk,
        hotkeys=HOTKEYS[: len(CLASSES)],
        n_classes=len(CLASSES),
    )
    assert result["problems"] == []
    assert result["editing"] and result["shortcutsBefore"] and result["shortcutsShown"]
    assert len(result["selected"]) == 6
    assert result["dragged"] == 3 and result["afterEscape"] == 0
    # one request per label: each submit asks for the next samples, get-next only opens
    assert result["calls"] == {"next": 1, "submit": 10, "submitWithNext": 10}
    # the grid's one submission asks for the top-up too
    assert result["gridCalls"]["submit"] == result["gridCalls"]["submitWithNext"] == 1
    expected = {}
    for sid, label in result["labels"].items():
        if label is None:  # accepted the model's suggestion with Enter
            label = Prediction.objects.get(model_version=model, sample_id=int(sid)).predicted_label
        expected[int(sid)] = label
    assert len(expected) == 16
    stored = dict(Annotation.objects.filter(annotator=ann).values_list("sample_id", "label"))
    assert stored == expected
    skipped = int(result["skipped"])
    assert Skip.objects.filter(user=ann, item__sample_id=skipped).exists()
    assert skipped not in stored
    assert Annotation.objects.count() == 16


def test_second_annotator_never_receives_a_reserved_sample(digits_project, run_scenario):
    project, _owner, _model = digits_project
    users = [make_user(n, Membership.Role.ANNOTATOR, project) for n in ("ann", "bob")]
    result = run_scenario(
        "two_annotators",
        project=project.pk,
        rounds=6,
        n_classes=len(CLASSES),
        hotkeys=HOTKEYS[: len(CLASSES)],
        users=[{"username": u.username, "password": PASSWORD} for u in users],
    )
    assert result["problems"] == []
    received_a, received_b = set(result["a"]), set(result["b"])
    assert received_a and received_b
    assert not received_a & received_b
    by_a = set(Annotation.objects.filter(annotator=users[0]).values_list("sample_id", flat=True))
    by_b = set(Annotation.objects.filter(annotator=users[1]).values_list("sample_id", flat=True))
    assert len(by_a) == len(by_b) == 6
    assert not by_a & by_b


def test_dashboard_and_jobs_pages_render(digits_project, run_scenario):
    project, owner, model = digits_project
    ann = make_user("ann", Membership.Role.ANNOTATOR, project)
    bob = make_user("bob", Membership.Role.ANNOTATOR, project)
    for i, sample in enumerate(Sample.objects.filter(project=project).order_by("pk")[:40]):
        label = digit_target(i)
        Annotation.objects.create(sample=sample, annotator=ann, label=label, time_spent_ms=1800)
        if i < 12:
            Annotation.objects.create(
                sample=sample,
                annotator=bob,
                label=label if i % 5 else (label + 3) % 10,
                time_spent_ms=2500,
            )
    for n, acc in [(20, 0.52), (40, 0.68), (60, 0.77), (80, 0.81)]:
        LearningCurvePoint.objects.create(
            project=project, n_labels=n, accuracy=acc, macro_f1=acc - 0.03
        )
    SimulationRun.objects.create(
        project=project,
        result={
            "strategies": {
                "random": {
                    "n_labels": [20, 40, 60, 80],
                    "mean": [0.45, 0.58, 0.66, 0.71],
                    "std": [0.04, 0.03, 0.03, 0.02],
                },
                "entropy": {
                    "n_labels": [20, 40, 60, 80],
                    "mean": [0.47, 0.64, 0.74, 0.8],
                    "std": [0.04, 0.03, 0.02, 0.02],
                },
            }
        },
    )
    now = timezone.now()
    Job.objects.create(
        project=project,
        kind=Job.Kind.PRETRAIN,
        state=Job.State.SUCCEEDED,
        progress=1.0,
        started_at=now,
        finished_at=now,
        message="20 epochs",
    )
    Job.objects.create(
        project=project,
        kind=Job.Kind.SIMULATE,
        state=Job.State.FAILED,
        started_at=now,
        finished_at=now,
        error="ValueError: no embeddings yet",
    )
    Job.objects.create(
        project=project,
        kind=Job.Kind.ROUND,
        state=Job.State.RUNNING,
        progress=0.4,
        started_at=now,
        message="training head",
        lock="training",
    )
    result = run_scenario(
        "dashboard_shot", username=owner.username, password=PASSWORD, project=project.pk
    )
    assert result["problems"] == []
    assert len(result["plots"]) == 3 and all(w > 100 for w in result["plots"])
    assert result["jobRows"] == 3


def test_labels_survive_a_flaky_network_and_are_counted_once(digits_project, run_scenario):
    project, _owner, _model = digits_project
    ann = make_user("ann", Membership.Role.ANNOTATOR, project)
    result = run_scenario(
        "retry",
        username="ann",
        password=PASSWORD,
        project=project.pk,
        hotkeys=HOTKEYS[: len(CLASSES)],
    )
    assert "Retrying" in result["banner"] and "2 waiting" in result["banner"]
    assert result["attempts"] >= 3
    stored = dict(Annotation.objects.filter(annotator=ann).values_list("sample_id", "label"))
    assert stored == {int(sid): label for sid, label in result["labels"].items()}


def test_large_images_zoom_and_pan_small_ones_stay_crisp(run_scenario, settings):
    from PIL import Image

    owner = make_user("olivia")
    project = project_create(name="Slides", classes=["tumour", "normal"], owner=owner)
    ann = make_user("ann", Membership.Role.ANNOTATOR, project)
    samples = []
    for size, colour in (((1600, 1200), (200, 120, 90)), ((16, 16), (20, 90, 200))):
        image = Image.new("RGB", size, colour)
        for x in range(0, size[0], max(1, size[0] // 8)):
            for y in range(size[1]):
                image.putpixel((x, y), (255, 255, 255))
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        digest = hashlib.sha256(buffer.getvalue()).hexdigest()
        samples.append(
            Sample.objects.create(
                project=project,
                file=ContentFile(buffer.getvalue(), name=f"samples/{digest}.png"),
                sha256=digest,
                width=size[0],
                height=size[1],
            )
        )
    queue_append(project=project, sample_ids=[s.pk for s in samples])
    result = run_scenario("zoom", username=ann.username, password=PASSWORD, project=project.pk)
    assert result["problems"] == []
    fitted, zoomed, panned, reset, small = (
        result[k] for k in ("fitted", "zoomed", "panned", "reset", "small")
    )
    assert fitted["natural"] == 1600 and not fitted["pixelated"]
    assert int(fitted["zoom"].rstrip("%")) < 100
    assert int(zoomed["zoom"].rstrip("%")) > int(fitted["zoom"].rstrip("%"))
    assert panned["transform"] != zoomed["transform"]
    assert reset["transform"] == fitted["transform"]
    assert small["natural"] == 16 and small["pixelated"]
