"""A fine-tuning round stopped mid-training resumes from its checkpoint on the next attempt."""

from __future__ import annotations

import pytest
import torch

import ssl_pretrain
from labeling.models import Job, ModelVersion
from labeling.services.jobs import job_create
from tests.workers.images import make_project
from tests.workers.test_steps import label, run
from workers import files
from workers.runner import run_job
from workers.steps.train import FINETUNE_CHECKPOINT

pytestmark = pytest.mark.django_db(transaction=True)
REAL_FINETUNE = ssl_pretrain.finetune


class WorkerKilled(Exception):
    """Stands for a worker dying right after an epoch's checkpoint was written."""


@pytest.fixture
def project(sent):
    project = make_project(classifier="finetune")
    run(project, Job.Kind.PRETRAIN, round=False)
    return project


@pytest.fixture
def calls(monkeypatch):
    """Every ``ssl_pretrain.finetune`` call of the worker (arguments, epochs it trained);
    ``calls.stop_after = n`` makes the next call stop after epoch ``n``,
    ``calls.oom_above = b`` makes batch sizes above ``b`` run out of CUDA memory."""

    class Calls(list):
        stop_after: int | None = None
        oom_above: int | None = None

    seen = Calls()

    def finetune(encoder, images, labels, **kwargs):
        record = {"args": (encoder, images, labels), "kwargs": dict(kwargs), "epochs": []}
        seen.append(record)
        if seen.oom_above is not None and kwargs["batch_size"] > seen.oom_above:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 1.00 GiB")
        stop, seen.stop_after = seen.stop_after, None
        report = kwargs.pop("on_progress")

        def on_progress(epoch, *rest):
            record["epochs"].append(epoch)
            report(epoch, *rest)
            if epoch == stop:
                raise WorkerKilled(f"killed after epoch {epoch}")

        return REAL_FINETUNE(encoder, images, labels, on_progress=on_progress, **kwargs)

    monkeypatch.setattr(ssl_pretrain, "finetune", finetune)
    return seen


def _round(project) -> tuple[Job, object]:
    job = job_create(
        project=project,
        kind=Job.Kind.ROUND,
        params={"finetune_epochs": 3, "finetune_batch_size": 4, "heatmaps": False},
    )
    return job, files.model_dir(project.pk, job.pk) / FINETUNE_CHECKPOINT


def _notes(job: Job) -> list[str]:
    job.refresh_from_db()
    return job.result.get("notes", [])


def test_a_stopped_fine_tuning_resumes_where_it_stopped(project, calls, fast_lease):
    label(project, 9)
    job, checkpoint = _round(project)
    calls.stop_after = 1
    assert run_job(job.pk) == "retrying"
    assert not ModelVersion.objects.exists()
    assert torch.load(checkpoint, weights_only=False)["epoch"] == 1

    assert run_job(job.pk) == "succeeded"
    first, second = calls
    assert (first["epochs"], second["epochs"]) == ([1], [2, 3])
    assert (first["kwargs"]["resume"], second["kwargs"]["resume"]) == (True, True)
    assert first["kwargs"]["checkpoint_path"] == second["kwargs"]["checkpoint_path"] == checkpoint
    assert "resumed fine-tuning from the checkpoint of epoch 1" in _notes(job)
    version = ModelVersion.objects.get()
    assert version.params["finetune"]["resumed_from_epoch"] == 1
    assert not checkpoint.exists()  # spent once the model is saved

    # The same as fine-tuning without a stop, with what the worker passed.
    dropped = ("checkpoint_path", "resume", "on_progress")
    kwargs = {k: v for k, v in first["kwargs"].items() if k not in dropped}
    whole = REAL_FINETUNE(*first["args"], **kwargs)
    saved = ssl_pretrain.load_encoder(files.absolute(version.params["encoder_checkpoint"]))
    assert all(torch.equal(v, saved.state_dict()[k]) for k, v in whole.encoder.state_dict().items())
    losses = [round(h["loss"], 5) for h in whole.history]
    assert version.params["finetune"]["loss_history"] == losses


def test_new_labels_since_the_stop_make_it_start_afresh(project, calls, fast_lease):
    label(project, 9)
    job, checkpoint = _round(project)
    calls.stop_after = 1
    assert run_job(job.pk) == "retrying"
    label(project, 12)  # three more labels before the next attempt

    assert run_job(job.pk) == "succeeded"
    assert [c["epochs"] for c in calls] == [[1], [], [1, 2, 3]]
    notes = _notes(job)
    assert any(
        n.startswith("fine-tuning starts afresh: the checkpoint of epoch 1 was made for another")
        and "n_images 9 -> 12" in n
        for n in notes
    ), notes
    assert not any("resumed fine-tuning" in n for n in notes)
    version = ModelVersion.objects.get()
    assert version.n_labels == 12 and version.params["finetune"]["resumed_from_epoch"] == 0
    assert not checkpoint.exists()


def test_a_halved_batch_size_is_kept_when_resuming(project, calls, fast_lease):
    label(project, 9)
    job, checkpoint = _round(project)
    calls.oom_above, calls.stop_after = 2, 1
    assert run_job(job.pk) == "retrying"
    calls.oom_above = None
    assert run_job(job.pk) == "succeeded"
    assert [(c["kwargs"]["batch_size"], c["epochs"]) for c in calls] == [
        (4, []),
        (2, [1]),
        (2, [2, 3]),
    ]
    assert "resumed fine-tuning from the checkpoint of epoch 1" in _notes(job)
    assert ModelVersion.objects.get().params["finetune"]["batch_size"] == 2


def test_a_checkpoint_left_behind_a_saved_model_is_removed(project, calls):
    label(project, 9)
    job, checkpoint = _round(project)
    assert run_job(job.pk) == "succeeded"
    assert not checkpoint.exists()
    # A worker that died between saving the model and removing the checkpoint.
    checkpoint.write_bytes(b"left behind")
    Job.objects.filter(pk=job.pk).update(state=Job.State.QUEUED, attempts=1)
    assert run_job(job.pk) == "succeeded"
    assert not checkpoint.exists()
    assert len(calls) == 1 and ModelVersion.objects.count() == 1


def test_an_unreadable_checkpoint_is_replaced(project, calls):
    label(project, 9)
    job, checkpoint = _round(project)
    checkpoint.write_bytes(b"half a file")
    assert run_job(job.pk) == "succeeded"
    assert [c["epochs"] for c in calls] == [[1, 2, 3]]
    assert ModelVersion.objects.get().params["finetune"]["resumed_from_epoch"] == 0
    assert not checkpoint.exists()
