"""Jobs are rows first, sent to a worker after commit, one training job per project."""

from __future__ import annotations

import pytest

from labeling.models import Job, LoopConfig
from labeling.services.jobs import JobConflictError, job_cancel, job_create
from tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def sent(monkeypatch):
    calls = []
    monkeypatch.setattr(
        "workers.dispatch.app.send_task",
        lambda name, args, queue: calls.append((name, args, queue)),
    )
    return calls


def test_job_is_sent_only_after_commit(sent, django_capture_on_commit_callbacks):
    project = ProjectFactory()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        job = job_create(project=project, kind=Job.Kind.PRETRAIN)
        assert sent == []
    assert len(callbacks) == 1
    assert sent == [("workers.run_job", [job.pk], "gpu")]


@pytest.mark.parametrize(
    ("kind", "params", "queue"),
    [
        ("embed", {}, "gpu"),
        ("train", {"classifier": "linear"}, "default"),
        ("train", {"classifier": "finetune"}, "gpu"),
        ("score", {}, "default"),
        ("simulate", {}, "default"),
    ],
)
def test_jobs_are_routed_by_kind(sent, django_capture_on_commit_callbacks, kind, params, queue):
    with django_capture_on_commit_callbacks(execute=True):
        job_create(project=ProjectFactory(), kind=kind, params=params)
    assert sent[0][2] == queue


def test_second_training_job_is_refused_with_the_active_one_named(sent):
    project = ProjectFactory()
    first = job_create(project=project, kind=Job.Kind.ROUND)
    with pytest.raises(JobConflictError) as excinfo:
        job_create(project=project, kind=Job.Kind.TRAIN)
    assert excinfo.value.active == first
    assert f"round job {first.pk} is queued" in str(excinfo.value)
    # Non-training jobs and other projects are not blocked.
    job_create(project=project, kind=Job.Kind.SIMULATE)
    job_create(project=ProjectFactory(), kind=Job.Kind.TRAIN)


def test_unknown_kind_lists_valid_ones():
    with pytest.raises(ValueError, match="valid kinds: pretrain"):
        job_create(project=ProjectFactory(), kind="dance")


def test_cancel_queued_job_frees_the_lock(sent):
    project = ProjectFactory()
    job = job_cancel(job=job_create(project=project, kind=Job.Kind.PRETRAIN))
    assert job.state == Job.State.CANCELLED
    job_create(project=project, kind=Job.Kind.PRETRAIN)


def test_cancel_running_job_asks_it_to_stop(sent):
    job = job_create(project=ProjectFactory(), kind=Job.Kind.PRETRAIN)
    Job.objects.filter(pk=job.pk).update(state=Job.State.RUNNING)
    job = job_cancel(job=job)
    assert job.state == Job.State.RUNNING and job.cancel_requested


@pytest.mark.parametrize(("classifier", "queue"), [("finetune", "gpu"), ("linear", "default")])
def test_a_round_follows_the_projects_classifier(
    sent, django_capture_on_commit_callbacks, classifier, queue
):
    project = ProjectFactory()
    LoopConfig.objects.create(project=project, classifier=classifier)
    with django_capture_on_commit_callbacks(execute=True):
        job_create(project=project, kind=Job.Kind.ROUND)
    assert sent[0][2] == queue
