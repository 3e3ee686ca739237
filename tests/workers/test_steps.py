"""The loop's steps on a tiny project: 60 images of 16x16 in 3 classes, cnn_small, 1 epoch."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from labeling.models import (
    EncoderVersion,
    Job,
    LearningCurvePoint,
    LoopConfig,
    Membership,
    ModelVersion,
    Prediction,
    Project,
    QueryBatch,
    QueueItem,
    Sample,
)
from labeling.services.jobs import job_create
from labeling.services.queue import queue_append
from tests.factories import AnnotationFactory, MembershipFactory, UserFactory
from tests.workers.images import make_project
from workers import files
from workers.runner import run_job

pytestmark = pytest.mark.django_db(transaction=True)


def run(project, kind, **params) -> Job:
    job = job_create(project=project, kind=kind, params=params)
    outcome = run_job(job.pk)
    job.refresh_from_db()
    assert outcome == "succeeded", job.error
    return job


def label(project, n: int, *, annotator=None) -> list[Sample]:
    """Label the first ``n`` pool samples (every class in turn) with their oracle label."""
    annotator = annotator or UserFactory()
    samples = list(project.samples.filter(split="pool").order_by("pk")[:n])
    queue_append(project=project, sample_ids=[s.pk for s in samples])
    for sample in samples:
        AnnotationFactory(sample=sample, annotator=annotator, label=sample.oracle_label)
    QueueItem.objects.filter(sample__in=samples).update(state="done", n_annotations=1)
    return samples


@pytest.fixture
def project(sent):
    project = make_project()
    run(project, Job.Kind.PRETRAIN, round=False)
    return project


def test_cold_start_with_embeddings_uses_typiclust(project):
    job = run(project, Job.Kind.ROUND)
    assert not ModelVersion.objects.exists()
    batch = QueryBatch.objects.get(job=job)
    assert (batch.strategy, batch.size, batch.model_version) == ("typiclust", 6, None)
    assert (
        job.message
        == "queued 6 (typiclust); no labels yet: the first batch comes from the cold-start strategy"
    )
    queued = QueueItem.objects.filter(batch=batch)
    assert {item.sample.split for item in queued} == {"pool"}
    assert all(item.score is not None for item in queued)


def test_a_round_trains_scores_selects_and_evaluates(project, sent):
    labeled = label(project, 9)
    job = run(project, Job.Kind.ROUND)
    assert list(job.result["timings"]) == ["embed_new", "train", "score", "select", "evaluate"]
    version = ModelVersion.objects.get(job=job)
    assert (version.kind, version.n_labels, version.params["committee"]) == ("linear", 9, 0)
    assert version.metrics["source"] == "holdout" and version.metrics["n"] == 15
    assert version.holdout_accuracy == version.metrics["accuracy"]
    assert files.absolute(version.checkpoint).is_file()
    # Every unlabeled pool sample has a prediction with a ranking score in [0, 1].
    predictions = Prediction.objects.filter(model_version=version)
    assert predictions.count() == 45 - 9
    assert not predictions.filter(sample__in=labeled).exists()
    assert all(0 <= p.score <= 1 and 0 < p.confidence <= 1 for p in predictions)
    batch = QueryBatch.objects.get(job=job)
    assert (batch.strategy, batch.model_version, batch.size) == ("entropy", version, 6)
    picked = set(QueueItem.objects.filter(batch=batch).values_list("sample_id", flat=True))
    assert not picked & {s.pk for s in labeled}
    # The most uncertain unlabeled samples were picked (entropy ranks them).
    top = set(predictions.order_by("-score").values_list("sample_id", flat=True)[:6])
    assert picked == top
    assert f"model {version.pk}: accuracy" in job.message
    assert "(holdout) with 9 labels; queued 6 (entropy)" in job.message
    point = LearningCurvePoint.objects.get(model_version=version)
    assert (point.n_labels, point.accuracy) == (9, version.holdout_accuracy)
    # Heat maps for the new batch are asked for in a job of their own, on the gpu queue.
    heat_job = Job.objects.get(kind=Job.Kind.GRADCAM)
    assert heat_job.parent == job and heat_job.params == {"model_version": version.pk}
    assert ("workers.run_job", [heat_job.pk], "gpu", {}) in sent


def test_heatmaps_are_written_for_queued_samples(project):
    label(project, 9)
    run(project, Job.Kind.ROUND)
    heat_job = Job.objects.get(kind=Job.Kind.GRADCAM)
    assert run_job(heat_job.pk) == "succeeded"
    batch = QueryBatch.objects.get()
    drawn = Prediction.objects.filter(sample__queue_item__batch=batch).exclude(heatmap="")
    assert drawn.count() == 6
    for prediction in drawn:
        with Image.open(files.absolute(prediction.heatmap)) as image:
            assert image.mode == "RGBA" and image.size == (16, 16)
            alpha = np.asarray(image)[..., 3]
            assert alpha.max() > 0


def test_a_committee_strategy_trains_a_committee(project):
    LoopConfig.objects.filter(project=project).update(strategy="vote_entropy", committee_size=3)
    label(project, 9)
    job = run(project, Job.Kind.ROUND)
    version = ModelVersion.objects.get(job=job)
    assert version.params["committee"] == 3
    assert files.absolute(version.params["committee_checkpoint"]).is_file()
    probs = np.load(files.absolute(version.checkpoint).parent / "pool_committee_probs.npy")
    assert probs.shape == (3, 45, 3)
    assert QueryBatch.objects.get(job=job).strategy == "vote_entropy"


def test_new_samples_are_embedded_before_a_round(project):
    extra = make_project("more images", per_class=2, holdout_per_class=0, seed=7)
    Sample.objects.filter(project=extra).update(project=project)
    encoder = EncoderVersion.objects.get(project=project)
    assert encoder.n_embedded == 60
    job = run(project, Job.Kind.ROUND)
    assert job.result["embed"] == {"encoder": encoder.pk, "new": 6, "total": 66}
    encoder.refresh_from_db()
    assert encoder.n_embedded == 66
    assert len(list(files.absolute(encoder.embeddings_dir).glob("part-*.ids.npy"))) == 2


def test_a_repeated_round_job_writes_its_rows_once(project):
    label(project, 9)
    job = run(project, Job.Kind.ROUND)
    # A redelivery after the worker died just before recording success.
    Job.objects.filter(pk=job.pk).update(state=Job.State.QUEUED, attempts=1)
    assert run_job(job.pk) == "succeeded"
    assert ModelVersion.objects.filter(job=job).count() == 1
    assert QueryBatch.objects.filter(job=job).count() == 1
    assert LearningCurvePoint.objects.count() == 1
    assert QueueItem.objects.count() == 9 + 6


def test_target_accuracy_marks_the_project_done_and_stops_the_queue(project):
    Project.objects.filter(pk=project.pk).update(target_accuracy=0.01)
    label(project, 9)
    job = run(project, Job.Kind.ROUND)
    project.refresh_from_db()
    assert project.status == Project.Status.DONE
    assert "target accuracy 0.010 reached" in project.done_reason
    assert not QueryBatch.objects.filter(job=job).exists()
    assert QueueItem.objects.count() == 9

    # A target the model already meets keeps it done; a higher one opens it again.
    from labeling.services.loop_config import loop_config_update

    owner = MembershipFactory(project=project, role=Membership.Role.OWNER).user
    LearningCurvePoint.objects.filter(project=project).update(accuracy=0.5)  # a weaker model
    loop_config_update(project=project, user=owner, data={"target_accuracy": 0.5})
    project.refresh_from_db()
    assert project.status == Project.Status.DONE
    loop_config_update(project=project, user=owner, data={"target_accuracy": 0.9})
    project.refresh_from_db()
    assert (project.status, project.done_reason) == (Project.Status.ACTIVE, "")


def test_the_label_budget_caps_the_batch_and_then_ends_the_project(project):
    Project.objects.filter(pk=project.pk).update(label_budget=12)
    label(project, 9)
    job = run(project, Job.Kind.ROUND)
    assert QueryBatch.objects.get(job=job).size == 3
    assert any("label budget of 12 is committed" in n for n in job.result["notes"])
    label_more = list(QueueItem.objects.filter(batch__job=job))
    annotator = UserFactory()
    for item in label_more:
        AnnotationFactory(sample=item.sample, annotator=annotator, label=item.sample.oracle_label)
    QueueItem.objects.filter(batch__job=job).update(state="done", n_annotations=1)
    run(project, Job.Kind.ROUND)
    project.refresh_from_db()
    assert project.status == Project.Status.DONE
    assert "label budget of 12 spent" in project.done_reason

    # A larger budget opens the project again, unless someone closed it by hand.
    from labeling.services.loop_config import loop_config_update, project_update

    owner = MembershipFactory(project=project, role=Membership.Role.OWNER).user
    loop_config_update(project=project, user=owner, data={"label_budget": 20})
    project.refresh_from_db()
    assert (project.status, project.done_reason) == (Project.Status.ACTIVE, "")
    project_update(project=project, user=owner, data={"status": Project.Status.DONE})
    loop_config_update(project=project, user=owner, data={"label_budget": 30})
    project.refresh_from_db()
    assert (project.status, project.done_reason) == (Project.Status.DONE, "closed by hand")


def test_without_holdout_labels_the_model_is_cross_validated(project):
    Sample.objects.filter(project=project, split="holdout").update(oracle_label=None)
    label(project, 12)
    job = run(project, Job.Kind.ROUND)
    version = ModelVersion.objects.get(job=job)
    assert version.metrics["source"] == "4-fold cross-validation"
    assert version.metrics["n"] == 12
    assert LearningCurvePoint.objects.filter(model_version=version).exists()


def test_a_single_class_trains_nothing_and_falls_back_to_the_cold_start(project):
    annotator = UserFactory()
    for sample in project.samples.filter(split="pool", oracle_label=0)[:4]:
        AnnotationFactory(sample=sample, annotator=annotator, label=0)
    job = run(project, Job.Kind.ROUND)
    assert not ModelVersion.objects.exists()
    assert any("needs two classes" in n for n in job.result["notes"])
    assert QueryBatch.objects.get(job=job).strategy == "typiclust"
