"""A real Celery worker process: labels trigger rounds, duplicate deliveries run once,
a worker killed mid-pretraining is replaced and the job resumes from its checkpoint.

The unmarked tests run on the embedded default (SQLite, filesystem broker); the
``services`` ones on PostgreSQL and Redis.
"""

from __future__ import annotations

import re

import pytest

from labeling.models import (
    EncoderVersion,
    Job,
    LoopConfig,
    Membership,
    ModelVersion,
    QueryBatch,
    QueueItem,
)
from labeling.services.loop import pretrain_request, round_request
from labeling.services.queue import queue_next
from labeling.services.queue_submit import annotation_submit
from tests.factories import AnnotationFactory, MembershipFactory, UserFactory
from tests.workers.images import make_project
from tests.workers.worker import wait_for
from workers import files

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def _finished(job: Job):
    job.refresh_from_db()
    return job.state in (Job.State.SUCCEEDED, Job.State.FAILED, Job.State.CANCELLED)


def _labels_trigger_a_round(real_workers):
    project = make_project(retrain_every=3)
    worker = real_workers("w1").wait_ready()
    first = round_request(project=project)
    wait_for(lambda: _finished(first), 60, "the cold-start round", worker)
    assert first.state == Job.State.SUCCEEDED, first.error
    assert QueueItem.objects.filter(project=project).count() == 6
    annotator = MembershipFactory(project=project, role=Membership.Role.ANNOTATOR).user
    for item in queue_next(project=project, user=annotator, count=3):
        annotation_submit(
            project=project,
            user=annotator,
            sample_id=item.sample_id,
            label=item.sample.oracle_label,
        )
    triggered = wait_for(
        lambda: Job.objects.filter(project=project, params__trigger="labels").first(),
        10,
        "a round triggered by labels",
    )
    wait_for(lambda: _finished(triggered), 60, "the triggered round", worker)
    assert triggered.state == Job.State.SUCCEEDED, triggered.error
    assert QueryBatch.objects.filter(project=project).count() == 2
    assert QueueItem.objects.filter(project=project).count() == 12


EPOCHS = 8
PRETRAINING = re.compile(r"pretraining epoch (\d+)(/\d+)?")


def _kill_and_resume(real_workers):
    project = make_project(ssl_epochs=EPOCHS)
    annotator = UserFactory()
    for sample in project.samples.filter(split="pool").order_by("pk")[:9]:
        AnnotationFactory(sample=sample, annotator=annotator, label=sample.oracle_label)
    first = real_workers("doomed").wait_ready()
    job = round_request(project=project, pretrain=True)
    checkpoint = files.encoder_dir(project.pk, job.pk) / "checkpoint.pt"

    def two_epochs_done():
        # "pretraining epoch 3/8: ..." once epoch 3 is done, then "pretraining epoch 4" during
        # epoch 4's steps: either way at least two epochs are checkpointed and some remain
        job.refresh_from_db()
        found = PRETRAINING.search(job.message)
        if not (found and checkpoint.exists()):
            return False
        done = int(found[1]) - (0 if found[2] else 1)
        return 2 <= done < EPOCHS

    wait_for(two_epochs_done, 90, "two epochs of pretraining", first)
    first.kill()
    job.refresh_from_db()
    assert job.state == Job.State.RUNNING and job.attempts == 1
    second = real_workers("rescuer", beat=True).wait_ready()
    wait_for(lambda: _finished(job), 120, "the job to finish on the second worker", second)
    assert job.state == Job.State.SUCCEEDED, job.error
    assert job.attempts == 2
    assert job.result["pretrain"]["resumed_from_epoch"] >= 2
    assert job.result["pretrain"]["epochs"] == EPOCHS
    assert EncoderVersion.objects.filter(project=project).count() == 1
    assert EncoderVersion.objects.get(project=project).n_embedded == 60
    assert ModelVersion.objects.filter(project=project).count() == 1
    assert ModelVersion.objects.get(project=project).n_labels == 9
    assert QueryBatch.objects.filter(project=project).count() == 1


def test_labels_trigger_a_round_that_fills_the_queue(real_workers):
    _labels_trigger_a_round(real_workers)


def test_a_killed_worker_is_replaced_and_the_job_resumes(real_workers):
    _kill_and_resume(real_workers)


@pytest.mark.services
def test_labels_trigger_a_round_that_fills_the_queue_on_redis(real_workers):
    _labels_trigger_a_round(real_workers)


@pytest.mark.services
def test_a_killed_worker_is_replaced_and_the_job_resumes_on_redis(real_workers):
    _kill_and_resume(real_workers)


@pytest.mark.services
def test_a_duplicate_delivery_runs_the_job_once(real_workers):
    """Redis redelivers a message unacknowledged for longer than its visibility
    timeout; the second worker finds the job's lease live and does nothing."""
    project = make_project(ssl_epochs=4)
    fast = {"CELERY_VISIBILITY_TIMEOUT": "1"}
    workers = [real_workers(name, **fast).wait_ready() for name in ("first", "second")]
    job = pretrain_request(project=project)
    wait_for(
        lambda: any("this delivery does nothing" in w.text() for w in workers),
        90,
        "the message to be delivered a second time",
        *workers,
    )
    wait_for(lambda: _finished(job), 120, "the job to finish", *workers)
    assert job.state == Job.State.SUCCEEDED, job.error
    assert job.attempts == 1
    assert EncoderVersion.objects.filter(project=project).count() == 1
    started = [w.name for w in workers if f"job {job.pk} (pretrain, attempt" in w.text()]
    assert len(started) == 1


def test_a_schedule_fires_rounds_through_beat(real_workers):
    from django_celery_beat.models import IntervalSchedule

    from labeling.services.loop import schedule_set

    project = make_project()
    schedule_set(project=project, every_minutes=5)
    task = LoopConfig.objects.get(project=project).schedule
    # The same periodic task, every 2 seconds instead of 5 minutes.
    task.interval = IntervalSchedule.objects.create(every=2, period=IntervalSchedule.SECONDS)
    task.save()
    worker = real_workers("scheduled", beat=True).wait_ready()
    wait_for(
        lambda: Job.objects.filter(
            project=project, params__trigger="schedule", state=Job.State.SUCCEEDED
        ).exists(),
        60,
        "a scheduled round",
        worker,
    )
    assert QueryBatch.objects.filter(project=project).exists()
