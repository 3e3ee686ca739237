"""Running jobs in-process: outcomes, retries, cancellation, duplicate deliveries, OOM."""

from __future__ import annotations

import threading

import pytest
import torch

from labeling.models import EncoderVersion, Job, QueryBatch, QueueItem
from labeling.services.jobs import job_cancel, job_create
from tests.workers.images import make_project
from workers import files
from workers.leases import job_claim
from workers.runner import run_job

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def project(sent):
    return make_project()


def test_round_without_embeddings_queues_a_random_batch(project):
    job = job_create(project=project, kind=Job.Kind.ROUND)
    assert run_job(job.pk) == "succeeded"
    job.refresh_from_db()
    assert job.state == Job.State.SUCCEEDED and job.progress == 1.0
    assert job.lease_expires_at is None and job.finished_at is not None
    assert set(job.result["timings"]) == {"train", "score", "select", "evaluate"}
    assert any("no embeddings yet" in note for note in job.result["notes"])
    batch = QueryBatch.objects.get(project=project)
    assert (batch.strategy, batch.size, batch.job_id) == ("random", 6, job.pk)
    items = QueueItem.objects.filter(project=project).order_by("position")
    assert [i.batch_id for i in items] == [batch.pk] * 6
    assert {i.sample.split for i in items} == {"pool"}


def test_pretrain_job_saves_an_encoder_and_embeds_every_sample(project):
    job = job_create(project=project, kind=Job.Kind.PRETRAIN, params={"round": False})
    assert run_job(job.pk) == "succeeded"
    encoder = EncoderVersion.objects.get(project=project)
    assert (encoder.job_id, encoder.backbone, encoder.n_embedded) == (job.pk, "cnn_small", 60)
    assert files.absolute(encoder.checkpoint).is_file()
    assert (files.absolute(encoder.checkpoint).parent / "checkpoint.pt").is_file()
    job.refresh_from_db()
    assert job.result["pretrain"]["epochs"] == 1
    assert job.result["embed"] == {"encoder": encoder.pk, "new": 60, "total": 60}


def test_a_pretrain_job_takes_the_two_view_settings_from_its_params(project):
    params = {"round": False, "grayscale": 0.0, "view_size": 8}
    job = job_create(project=project, kind=Job.Kind.PRETRAIN, params=params)
    assert run_job(job.pk) == "succeeded"
    encoder = EncoderVersion.objects.get(project=project)
    assert (encoder.params["grayscale"], encoder.params["view_size"]) == (0.0, 8)
    bad = job_create(
        project=project, kind=Job.Kind.PRETRAIN, params={"round": False, "grayscale": 2}
    )
    assert run_job(bad.pk) == "failed"
    bad.refresh_from_db()
    assert "grayscale must be a probability in [0, 1], got 2" in bad.error
    assert EncoderVersion.objects.filter(project=project).count() == 1


def test_an_unreadable_pretraining_checkpoint_is_replaced(project):
    job = job_create(project=project, kind=Job.Kind.PRETRAIN, params={"round": False})
    checkpoint = files.encoder_dir(project.pk, job.pk) / "checkpoint.pt"
    checkpoint.parent.mkdir(parents=True, exist_ok=True)
    checkpoint.write_bytes(b"half a file")  # a crash in the middle of a non-atomic copy
    assert run_job(job.pk) == "succeeded"
    job.refresh_from_db()
    assert not any("resuming" in note for note in job.result.get("notes", []))
    assert EncoderVersion.objects.get(project=project).job_id == job.pk
    assert checkpoint.stat().st_size > 1000


def test_a_delivery_for_a_job_someone_holds_does_nothing(project, fast_lease):
    job = job_create(project=project, kind=Job.Kind.ROUND)
    assert job_claim(job_id=job.pk, owner="another-worker")
    assert run_job(job.pk) == "skipped"
    job.refresh_from_db()
    assert (job.state, job.lease_owner, job.attempts) == ("running", "another-worker", 1)
    assert not QueryBatch.objects.exists()


def test_a_finished_or_missing_job_is_skipped(project):
    job = job_create(project=project, kind=Job.Kind.ROUND)
    assert run_job(job.pk) == "succeeded"
    assert run_job(job.pk) == "skipped"
    assert run_job(10**9) == "skipped"
    assert QueryBatch.objects.count() == 1


def test_a_clear_failure_is_not_retried(project):
    job = job_create(project=project, kind=Job.Kind.EMBED)
    assert run_job(job.pk) == "failed"
    job.refresh_from_db()
    assert job.state == Job.State.FAILED and job.attempts == 1
    assert "no encoder yet: pretrain first" in job.error


def test_an_unexpected_error_is_retried_until_the_attempts_are_used(
    project, sent, monkeypatch, fast_lease
):
    from workers import steps

    def broken(ctx):
        raise RuntimeError("disk on fire")

    monkeypatch.setitem(steps.PLANS, Job.Kind.EVALUATE, broken)
    job = job_create(project=project, kind=Job.Kind.EVALUATE)
    sent.clear()
    for attempt in (1, 2):
        assert run_job(job.pk) == "retrying"
        job.refresh_from_db()
        assert (job.state, job.attempts) == (Job.State.QUEUED, attempt)
        assert "disk on fire" in job.error and "retrying" in job.message
        assert sent[-1][:3] == ("workers.run_job", [job.pk], "default")
        assert "countdown" in sent[-1][3]
    assert run_job(job.pk) == "failed"
    job.refresh_from_db()
    assert (job.state, job.attempts) == (Job.State.FAILED, 3)
    assert "RuntimeError: disk on fire" in job.error


def test_cancelling_a_running_job_stops_it(project, fast_lease):
    job = job_create(
        project=project, kind=Job.Kind.PRETRAIN, params={"round": False, "epochs": 500}
    )
    outcome = []
    runner = threading.Thread(target=lambda: outcome.append(run_job(job.pk)))
    runner.start()
    try:
        for _ in range(300):
            job.refresh_from_db()
            if job.state == Job.State.RUNNING and job.progress > 0.01:
                break
            threading.Event().wait(0.1)
        job_cancel(job=job)
    finally:
        runner.join(timeout=60)
    assert outcome == ["cancelled"]
    job.refresh_from_db()
    assert job.state == Job.State.CANCELLED
    assert not EncoderVersion.objects.exists()
    # The lock is free again.
    job_create(project=project, kind=Job.Kind.ROUND)


def _oom_above(limit, real):
    calls = []

    def pretrain(config, images, **kwargs):
        calls.append(config.batch_size)
        if config.batch_size > limit:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return real(config, images, **kwargs)

    return pretrain, calls


def test_cuda_oom_halves_the_batch_size_and_retries(project, monkeypatch, caplog):
    import ssl_pretrain

    fake, calls = _oom_above(8, ssl_pretrain.pretrain)
    monkeypatch.setattr(ssl_pretrain, "pretrain", fake)
    job = job_create(project=project, kind=Job.Kind.PRETRAIN, params={"round": False})
    with caplog.at_level("WARNING", logger="quarry.workers"):
        assert run_job(job.pk) == "succeeded"
    assert calls == [16, 8]
    job.refresh_from_db()
    assert job.result["oom_retries"] == [{"step": "pretrain", "batch_size": 16, "retry_with": 8}]
    assert job.result["pretrain"]["batch_size"] == 8
    assert "CUDA out of memory at batch size 16; retrying with 8" in caplog.text


def test_cuda_oom_below_the_minimum_fails_clearly(project, monkeypatch):
    import ssl_pretrain

    fake, calls = _oom_above(0, ssl_pretrain.pretrain)
    monkeypatch.setattr(ssl_pretrain, "pretrain", fake)
    job = job_create(project=project, kind=Job.Kind.PRETRAIN, params={"round": False})
    assert run_job(job.pk) == "failed"
    assert calls == [16, 8]
    job.refresh_from_db()
    assert job.attempts == 1
    assert "CUDA ran out of memory at batch size 8" in job.error
    assert "below the minimum of 8" in job.error


@pytest.mark.gpu
def test_pretraining_and_a_round_run_on_cuda(project, monkeypatch):
    monkeypatch.setenv("QUARRY_DEVICE", "cuda")
    job = job_create(project=project, kind=Job.Kind.PRETRAIN, params={"round": True})
    assert run_job(job.pk) == "succeeded"
    encoder = EncoderVersion.objects.get(project=project)
    assert encoder.params["device"] == "cuda" and encoder.n_embedded == 60
    assert QueryBatch.objects.get(project=project).strategy == "typiclust"


def test_an_import_job_imports_a_folder(sent, tmp_path):
    import numpy as np

    from labeling.models import Project, Sample
    from tests.workers.images import class_image, png

    rng = np.random.default_rng(3)
    for label, name in enumerate(["a", "b"]):
        (tmp_path / "data" / name).mkdir(parents=True)
        for i in range(3):
            (tmp_path / "data" / name / f"{i}.png").write_bytes(png(class_image(label, rng)))
    project = Project.objects.create(name="imported", classes=[])
    job = job_create(
        project=project,
        kind=Job.Kind.IMPORT,
        params={"path": str(tmp_path / "data"), "labels_as": "oracle"},
    )
    assert run_job(job.pk) == "succeeded"
    job.refresh_from_db()
    assert job.result["import"]["imported"] == 6 and job.message == "imported 6 images"
    assert sorted(Sample.objects.values_list("oracle_label", flat=True)) == [0, 0, 0, 1, 1, 1]
    missing = job_create(project=project, kind=Job.Kind.IMPORT, params={"path": "/no/such/dir"})
    assert run_job(missing.pk) == "failed"
    missing.refresh_from_db()
    assert missing.attempts == 1 and missing.error
