"""Pruning old predictions: the last K versions stay whole, what pages read stays, files go."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from labeling.models import LearningCurvePoint, ModelVersion, Prediction
from labeling.selectors.exports import export_rows, sample_table
from labeling.selectors.queue_items import latest_predictions
from labeling.services.predictions import EMBEDDINGS_DIR, POOL_FILES, predictions_prune
from tests.factories import ProjectFactory, SampleFactory


@pytest.fixture
def media(settings) -> Path:
    return Path(settings.MEDIA_ROOT)


@pytest.fixture
def samples(project):
    return SampleFactory.create_batch(12, project=project)


def _version(project, media: Path, n: int, samples, *, checkpoint: bool = True) -> ModelVersion:
    """A model version with a head and pool files on disk, a curve point, and a prediction
    for each of ``samples`` (label, confidence and score differ per version)."""
    name = ""
    if checkpoint:
        folder = media / "models" / str(project.pk) / f"job-{n}"
        folder.mkdir(parents=True)
        for file in ("head.pt", *POOL_FILES):
            (folder / file).write_bytes(b"x")
        name = f"models/{project.pk}/job-{n}/head.pt"
    version = ModelVersion.objects.create(
        project=project,
        kind="linear" if checkpoint else "imported",
        n_labels=n,
        checkpoint=name,
        metrics={"accuracy": n / 10, "source": "holdout"},
        holdout_accuracy=n / 10,
    )
    LearningCurvePoint.objects.create(
        project=project, model_version=version, n_labels=n, accuracy=n / 10, macro_f1=n / 20
    )
    Prediction.objects.bulk_create(
        Prediction(
            model_version=version,
            sample=sample,
            predicted_label=(n + i) % 3,
            confidence=0.5 + n / 100,
            score=(i + n) / 100,
        )
        for i, sample in enumerate(samples)
    )
    return version


def _rows(version) -> list[tuple]:
    return list(
        Prediction.objects.filter(model_version=version)
        .order_by("sample_id")
        .values_list("sample_id", "predicted_label", "confidence", "score", "heatmap")
    )


def _reads(project, samples) -> tuple:
    """What the label/review views, the samples API and exports read of the predictions."""
    ids = [s.pk for s in samples]
    newest = {
        sid: (p.model_version_id, p.predicted_label, p.confidence)
        for sid, p in latest_predictions(sample_ids=ids).items()
    }
    table = list(
        sample_table(project_ids=[project.pk])
        .order_by("pk")
        .values_list("pk", "pred_label", "pred_confidence", "pred_score")
    )
    exported = [(r.sample_id, r.prediction, r.confidence) for r in export_rows(project=project)]
    return newest, table, exported


def test_after_five_versions_only_the_last_two_keep_predictions(
    project, samples, media, django_capture_on_commit_callbacks
):
    versions = [_version(project, media, n, samples) for n in range(1, 6)]
    latest_before = _rows(versions[-1])
    reads_before = _reads(project, samples)
    with django_capture_on_commit_callbacks(execute=True):
        report = predictions_prune(project=project, keep=2)

    kept = {v.pk for v in versions[-2:]}
    assert set(Prediction.objects.values_list("model_version_id", flat=True)) == kept
    assert _rows(versions[-1]) == latest_before
    assert Prediction.objects.filter(model_version=versions[-2]).count() == 12
    assert (report.kept, report.versions) == (sorted(kept), [v.pk for v in versions[:3]])
    assert (report.predictions, report.files) == (3 * 12, 3 * len(POOL_FILES))
    assert _reads(project, samples) == reads_before
    # The versions themselves, their metrics and the learning curve stay.
    assert ModelVersion.objects.count() == 5
    for version in versions:
        version.refresh_from_db()
        assert version.metrics == {"accuracy": version.n_labels / 10, "source": "holdout"}
        folder = media / Path(version.checkpoint).parent
        assert (folder / "head.pt").is_file()
        assert all((folder / f).is_file() is (version.pk in kept) for f in POOL_FILES)
    assert LearningCurvePoint.objects.count() == 5

    # A second pass has nothing left to do.
    with django_capture_on_commit_callbacks(execute=True):
        again = predictions_prune(project=project, keep=2)
    assert (again.versions, again.predictions, again.files) == ([], 0, 0)


def test_a_pruned_fine_tuned_model_loses_its_pool_embeddings_but_not_its_encoder(
    project, samples, media, django_capture_on_commit_callbacks
):
    versions = [_version(project, media, n, samples) for n in range(1, 4)]
    folders = [media / Path(v.checkpoint).parent for v in versions]
    for folder in folders:
        (folder / "encoder.pt").write_bytes(b"x")
        (folder / EMBEDDINGS_DIR).mkdir()
        for part in ("part-00000.npy", "part-00000.ids.npy"):
            (folder / EMBEDDINGS_DIR / part).write_bytes(b"x")
    with django_capture_on_commit_callbacks(execute=True):
        report = predictions_prune(project=project, keep=2)
    assert report.files == len(POOL_FILES) + 2
    assert not (folders[0] / EMBEDDINGS_DIR).exists()
    assert (folders[0] / "encoder.pt").is_file() and (folders[0] / "head.pt").is_file()
    for folder in folders[1:]:
        assert sorted(p.name for p in (folder / EMBEDDINGS_DIR).iterdir()) == [
            "part-00000.ids.npy",
            "part-00000.npy",
        ]


def test_a_samples_newest_prediction_stays_for_the_pages_that_show_it(project, samples, media):
    """Samples labeled after a round are not scored again: their newest prediction (in the
    label view's suggestion, the undo payload, the review queue) belongs to an old version."""
    v1 = _version(project, media, 1, samples)
    v2 = _version(project, media, 2, samples)
    labeled_after_v1, labeled_after_v2 = samples[0], samples[1]
    v3 = _version(project, media, 3, samples[1:])
    v4 = _version(project, media, 4, samples[2:])
    v5 = _version(project, media, 5, samples[2:])
    before = _reads(project, samples)
    predictions_prune(project=project, keep=2)
    assert _reads(project, samples) == before
    assert not Prediction.objects.filter(model_version=v1).exists()
    assert [r[0] for r in _rows(v2)] == [labeled_after_v1.pk]
    assert [r[0] for r in _rows(v3)] == [labeled_after_v2.pk]
    assert len(_rows(v4)) == len(_rows(v5)) == 10


def test_the_current_classifier_and_named_versions_stay_whole(project, samples, media):
    scoring = _version(project, media, 1, samples)
    named = _version(project, media, 2, samples, checkpoint=False)
    pruned = _version(project, media, 3, samples, checkpoint=False)
    newest = _version(project, media, 4, samples, checkpoint=False)  # imported predictions
    report = predictions_prune(project=project, keep=1, also_keep=[named.pk])
    assert report.kept == sorted([scoring.pk, named.pk, newest.pk])
    assert report.versions == [pruned.pk]
    for version, count in ((scoring, 12), (named, 12), (pruned, 0), (newest, 12)):
        assert Prediction.objects.filter(model_version=version).count() == count


def test_heat_maps_of_pruned_rows_are_removed_with_their_folder(
    project, samples, media, django_capture_on_commit_callbacks
):
    old = _version(project, media, 1, samples)
    new = _version(project, media, 2, samples)
    paths = {}
    for version in (old, new):
        folder = media / "heatmaps" / str(project.pk) / f"model-{version.pk}"
        folder.mkdir(parents=True)
        for prediction in Prediction.objects.filter(model_version=version)[:3]:
            name = f"heatmaps/{project.pk}/model-{version.pk}/{prediction.sample_id}.png"
            (media / name).write_bytes(b"png")
            Prediction.objects.filter(pk=prediction.pk).update(heatmap=name)
        paths[version.pk] = folder
    with django_capture_on_commit_callbacks(execute=True):
        report = predictions_prune(project=project, keep=1)
    assert report.files == 3 + len(POOL_FILES)
    assert not paths[old.pk].exists()
    assert len(list(paths[new.pk].iterdir())) == 3


def test_files_wait_for_the_commit(project, samples, media, django_capture_on_commit_callbacks):
    old = _version(project, media, 1, samples)
    _version(project, media, 2, samples)
    folder = media / Path(old.checkpoint).parent
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        predictions_prune(project=project, keep=1)
    assert all((folder / f).is_file() for f in POOL_FILES)  # not committed yet
    assert len(callbacks) == 1
    callbacks[0]()
    assert not any((folder / f).exists() for f in POOL_FILES)


def test_small_batches_delete_the_same_rows(project, samples, media):
    versions = [_version(project, media, n, samples) for n in range(1, 4)]
    report = predictions_prune(project=project, keep=1, batch_size=5)
    assert report.predictions == 2 * 12
    assert set(Prediction.objects.values_list("model_version_id", flat=True)) == {versions[-1].pk}


def test_other_projects_are_left_alone(project, samples, media):
    other = ProjectFactory()
    theirs = SampleFactory.create_batch(3, project=other)
    old = _version(other, media, 1, theirs)
    _version(other, media, 2, theirs)
    for n in range(3, 6):
        _version(project, media, n, samples)
    predictions_prune(project=project, keep=1)
    assert Prediction.objects.filter(model_version=old).count() == 3


def test_the_setting_is_the_default_and_is_checked(
    project, samples, media, settings, django_capture_on_commit_callbacks
):
    versions = [_version(project, media, n, samples) for n in range(1, 5)]
    settings.QUARRY_KEEP_PREDICTION_VERSIONS = 3
    with django_capture_on_commit_callbacks(execute=True):
        assert predictions_prune(project=project).versions == [versions[0].pk]
    settings.QUARRY_KEEP_PREDICTION_VERSIONS = 1
    with django_capture_on_commit_callbacks(execute=True):
        assert predictions_prune(project=project).versions == [v.pk for v in versions[1:3]]
    settings.QUARRY_KEEP_PREDICTION_VERSIONS = 0
    with pytest.raises(ImproperlyConfigured, match="QUARRY_KEEP_PREDICTION_VERSIONS must be"):
        predictions_prune(project=project)
    with pytest.raises(ValueError, match="keep must be an integer >= 1"):
        predictions_prune(project=project, keep=0)
