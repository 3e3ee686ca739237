"""A round with the ``finetune`` classifier: tiny images, cnn_small, on the CPU."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import ssl_pretrain
from al_engine import heads
from labeling.models import (
    EncoderVersion,
    Job,
    LearningCurvePoint,
    LoopConfig,
    ModelVersion,
    Prediction,
    QueryBatch,
    Sample,
)
from labeling.services.jobs import job_create
from tests.workers.images import make_project
from tests.workers.test_steps import label, run
from workers import files
from workers.pool import images_load
from workers.runner import run_job

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def project(sent):
    project = make_project(classifier="finetune")
    run(project, Job.Kind.PRETRAIN, round=False)
    return project


def _pool_probs(encoder, head, sample_ids) -> np.ndarray:
    names = dict(Sample.objects.filter(pk__in=sample_ids).values_list("pk", "file"))
    images = images_load([names[int(i)] for i in sample_ids], int(encoder.image_size))
    return head.predict_proba(ssl_pretrain.embed(encoder, images))


def test_a_finetune_round_scores_with_the_fine_tuned_encoder(project, sent):
    labeled = label(project, 9)
    job = run(project, Job.Kind.ROUND, finetune_epochs=3, finetune_batch_size=4)
    assert list(job.result["timings"]) == ["embed_new", "train", "score", "select", "evaluate"]
    version = ModelVersion.objects.get()
    base = EncoderVersion.objects.get(project=project)
    assert (version.job, version.kind, version.n_labels, version.encoder) == (
        job,
        "finetune",
        9,
        base,
    )
    assert version.metrics["source"] == "holdout" and version.metrics["n"] == 15
    assert version.holdout_accuracy == version.metrics["accuracy"]
    assert len(version.params["finetune"]["loss_history"]) == 3
    assert job.result["finetune"] == {"epochs": 3, "batch_size": 4, "device": "cpu"}
    point = LearningCurvePoint.objects.get(model_version=version)
    assert point.accuracy == version.holdout_accuracy

    # The fine-tuned encoder and head live in the model's folder; the encoder really changed.
    folder = files.absolute(version.checkpoint).parent
    assert files.absolute(version.params["encoder_checkpoint"]) == folder / "encoder.pt"
    tuned = ssl_pretrain.load_encoder(folder / "encoder.pt")
    original = ssl_pretrain.load_encoder(files.absolute(base.checkpoint))
    conv = "trunk.features.0.0.weight"
    assert not torch.equal(tuned.state_dict()[conv], original.state_dict()[conv])

    # Scoring used the fine-tuned encoder's embeddings of the pool, not the base encoder's.
    head = heads.load(files.absolute(version.checkpoint))
    ids = np.load(folder / "pool_ids.npy")
    saved = np.load(folder / "pool_probs.npy")
    assert len(ids) == 45
    np.testing.assert_allclose(saved, _pool_probs(tuned, head, ids), atol=1e-5)
    assert not np.allclose(saved, _pool_probs(original, head, ids), atol=1e-3)
    predictions = Prediction.objects.filter(model_version=version)
    assert predictions.count() == 45 - 9
    assert not predictions.filter(sample__in=labeled).exists()
    row_of = {int(i): r for r, i in enumerate(ids)}
    for p in predictions:
        assert p.predicted_label == saved[row_of[p.sample_id]].argmax()
    batch = QueryBatch.objects.get(job=job)
    assert (batch.strategy, batch.model_version, batch.size) == ("entropy", version, 6)
    picked = set(batch.items.values_list("sample_id", flat=True))
    assert picked <= set(predictions.values_list("sample_id", flat=True))

    # Heat maps explain the model with its fine-tuned encoder.
    heat_job = Job.objects.get(kind=Job.Kind.GRADCAM)
    assert run_job(heat_job.pk) == "succeeded"
    assert Prediction.objects.filter(model_version=version).exclude(heatmap="").count() == 6


def test_a_repeated_finetune_round_writes_one_model(project):
    label(project, 9)
    job = run(project, Job.Kind.ROUND, finetune_epochs=1)
    version = ModelVersion.objects.get()
    probs = np.load(files.absolute(version.checkpoint).parent / "pool_probs.npy")
    Job.objects.filter(pk=job.pk).update(state=Job.State.QUEUED, attempts=1)
    assert run_job(job.pk) == "succeeded"
    assert ModelVersion.objects.get() == version
    assert QueryBatch.objects.filter(job=job).count() == 1
    again = np.load(files.absolute(version.checkpoint).parent / "pool_probs.npy")
    np.testing.assert_array_equal(probs, again)


def test_a_committee_strategy_gets_a_committee_on_the_fine_tuned_embeddings(project):
    LoopConfig.objects.filter(project=project).update(strategy="vote_entropy", committee_size=3)
    label(project, 9)
    job = run(project, Job.Kind.ROUND, finetune_epochs=1)
    version = ModelVersion.objects.get(job=job)
    assert (version.kind, version.params["committee"]) == ("finetune", 3)
    folder = files.absolute(version.checkpoint).parent
    committee = heads.load(files.absolute(version.params["committee_checkpoint"]))
    ids = np.load(folder / "pool_ids.npy")
    tuned = ssl_pretrain.load_encoder(folder / "encoder.pt")
    names = dict(Sample.objects.filter(pk__in=ids).values_list("pk", "file"))
    X = ssl_pretrain.embed(tuned, images_load([names[int(i)] for i in ids], 16))
    saved = np.load(folder / "pool_committee_probs.npy")
    assert saved.shape == (3, 45, 3)
    np.testing.assert_allclose(saved, committee.predict_proba(X), atol=1e-5)
    assert QueryBatch.objects.get(job=job).strategy == "vote_entropy"


def test_later_score_jobs_embed_new_samples_with_the_fine_tuned_encoder(project):
    label(project, 9)
    run(project, Job.Kind.ROUND, finetune_epochs=1)
    version = ModelVersion.objects.get()
    extra = make_project("more images", per_class=1, holdout_per_class=0, seed=7)
    Sample.objects.filter(project=extra).update(project=project)
    job = run(project, Job.Kind.SCORE)
    assert job.result["score"]["model_version"] == version.pk
    assert job.result["score"]["predictions"] == 45 + 3 - 9
    folder = files.absolute(version.checkpoint).parent
    assert len(list((folder / "embeddings").glob("part-*.ids.npy"))) == 2
    ids = np.load(folder / "pool_ids.npy")
    tuned = ssl_pretrain.load_encoder(folder / "encoder.pt")
    head = heads.load(files.absolute(version.checkpoint))
    np.testing.assert_allclose(
        np.load(folder / "pool_probs.npy"), _pool_probs(tuned, head, ids), atol=1e-5
    )


def test_bad_finetune_settings_fail_the_job_clearly(project):
    label(project, 9)
    job = job_create(project=project, kind=Job.Kind.TRAIN, params={"finetune_epochs": 0})
    assert run_job(job.pk) == "failed"
    job.refresh_from_db()
    assert "fine-tuning failed: epochs must be an integer >= 1" in job.error
    assert not ModelVersion.objects.exists()
