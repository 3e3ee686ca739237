"""Scoring prunes the predictions of older model versions: five rounds, two versions kept."""

from __future__ import annotations

import pytest

from labeling.models import Job, LearningCurvePoint, ModelVersion, Prediction, QueueItem, Sample
from labeling.selectors.queue_items import latest_predictions
from labeling.services.predictions import POOL_FILES
from tests.factories import AnnotationFactory, UserFactory
from tests.workers.images import make_project
from tests.workers.test_steps import label, run
from workers import files

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def project(sent):
    project = make_project()
    run(project, Job.Kind.PRETRAIN, round=False)
    return project


def _label_the_queue(project) -> None:
    """An annotator labels every open item with its oracle label."""
    annotator = UserFactory()
    items = QueueItem.objects.filter(project=project, state=QueueItem.State.OPEN)
    for item in items.select_related("sample"):
        AnnotationFactory(sample=item.sample, annotator=annotator, label=item.sample.oracle_label)
    items.update(state=QueueItem.State.DONE, n_annotations=1)


def test_five_rounds_keep_the_predictions_of_the_last_two(project, settings):
    settings.QUARRY_KEEP_PREDICTION_VERSIONS = 2
    label(project, 9)
    jobs = []
    newest_seen: dict[int, tuple[int, int]] = {}
    for _ in range(5):
        jobs.append(run(project, Job.Kind.ROUND, heatmaps=False))
        for sid, p in latest_predictions(
            sample_ids=Sample.objects.filter(project=project).values_list("pk", flat=True)
        ).items():
            newest_seen[sid] = (p.model_version_id, p.predicted_label)
        _label_the_queue(project)
    versions = list(ModelVersion.objects.order_by("pk"))
    assert [v.job_id for v in versions] == [j.pk for j in jobs]
    old, kept = versions[:3], versions[3:]

    # The last two versions keep a prediction for every sample they scored (the latest:
    # every pool sample unlabeled when it was trained, as written).
    last = kept[-1]
    labeled_before_last = 9 + 6 * 4
    assert Prediction.objects.filter(model_version=last).count() == 45 - labeled_before_last
    assert jobs[-1].result["score"]["predictions"] == 45 - labeled_before_last
    assert Prediction.objects.filter(model_version=kept[0]).count() == 45 - (9 + 6 * 3)

    # An older version keeps only what is still a sample's newest prediction: the samples
    # labeled after it scored them (what the label and review views show for them).
    for version in old:
        rows = Prediction.objects.filter(model_version=version)
        assert rows.count() == 6
        assert not Prediction.objects.filter(
            sample_id__in=rows.values("sample_id"), model_version_id__gt=version.pk
        ).exists()
    newest_now = {
        sid: (p.model_version_id, p.predicted_label)
        for sid, p in latest_predictions(sample_ids=newest_seen).items()
    }
    assert newest_now == newest_seen

    # Their pool files are gone, their heads, rows, metrics and curve points stay.
    for version in versions:
        folder = files.absolute(version.checkpoint).parent
        assert (folder / "head.pt").is_file()
        assert all((folder / f).is_file() is (version in kept) for f in POOL_FILES[:2])
        assert version.metrics["source"] == "holdout" and version.holdout_accuracy is not None
    assert list(
        LearningCurvePoint.objects.order_by("n_labels").values_list("model_version", flat=True)
    ) == [v.pk for v in versions]
    pruned = [j.result["score"]["pruned"] for j in jobs]
    assert [p["versions"] for p in pruned] == [
        [],
        [],
        [versions[0].pk],
        [versions[1].pk],
        [versions[2].pk],
    ]
    assert [p["files"] for p in pruned] == [0, 0, 2, 2, 2]  # pool ids and probabilities
    assert pruned[2]["predictions"] == (45 - 9) - 6
