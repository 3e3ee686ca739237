"""Asking for rounds, pretraining, simulations and schedules; the label trigger."""

from __future__ import annotations

import json

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from labeling.models import EncoderVersion, Job, LoopConfig, Membership, Project
from labeling.selectors.labels import labeled_count_forget
from labeling.services.jobs import JobConflictError
from labeling.services.loop import (
    pretrain_request,
    round_request,
    round_scheduled,
    schedule_set,
    simulation_request,
)
from labeling.services.rounds import round_maybe_trigger
from tests.factories import AnnotationFactory, MembershipFactory, ProjectFactory
from tests.workers.images import make_project

pytestmark = pytest.mark.django_db


@pytest.fixture
def project(sent):
    return make_project()


def test_round_request_queues_a_round_and_refuses_a_second(project, sent):
    job = round_request(project=project)
    assert (job.kind, job.state, job.params["trigger"]) == ("round", "queued", "manual")
    with pytest.raises(JobConflictError, match=f"round job {job.pk} is queued"):
        round_request(project=project, pretrain=True)


def test_round_request_with_pretrain_chains_the_round(project):
    job = round_request(project=project, pretrain=True)
    assert (job.kind, job.params["round"]) == ("pretrain", True)
    alone = pretrain_request(project=make_project("other"))
    assert (alone.kind, alone.params["round"]) == ("pretrain", False)


def test_requests_need_images(sent):
    empty = ProjectFactory()
    with pytest.raises(ValueError, match="no images yet"):
        round_request(project=empty)
    with pytest.raises(ValueError, match="at least 2 images"):
        pretrain_request(project=empty)


def test_only_owners_and_engineers_may_ask(project):
    annotator = MembershipFactory(project=project, role=Membership.Role.ANNOTATOR).user
    with pytest.raises(PermissionDenied, match="owner or engineer"):
        round_request(project=project, user=annotator)
    engineer = MembershipFactory(project=project, role=Membership.Role.ENGINEER).user
    job = round_request(project=project, user=engineer)
    assert job.requested_by == engineer


def test_simulation_request_checks_its_inputs(project):
    with pytest.raises(ValueError, match="unknown strategy 'psychic'; valid strategies: .*random"):
        simulation_request(project=project, strategies=["psychic"], budget=10)
    with pytest.raises(ValueError, match="budget must be an integer between 1"):
        simulation_request(project=project, strategies=["random"], budget=0)
    with pytest.raises(ValueError, match="needs embeddings"):
        simulation_request(project=project, strategies=["random"], budget=10)
    no_oracle = make_project("no oracle")
    no_oracle.samples.update(oracle_label=None)
    with pytest.raises(ValueError, match="labels_as='oracle'"):
        simulation_request(project=no_oracle, strategies=["random"], budget=10)


def test_schedule_set_creates_updates_and_clears_one_periodic_task(project):
    from django_celery_beat.models import PeriodicTask

    schedule_set(project=project, cron="30 2 * * 1-5")
    task = LoopConfig.objects.get(project=project).schedule
    assert task.task == "workers.scheduled_round"
    assert json.loads(task.args) == [project.pk]
    assert (task.crontab.minute, task.crontab.hour, task.crontab.day_of_week) == ("30", "2", "1-5")
    assert task.interval is None and task.enabled
    schedule_set(project=project, every_minutes=15)
    task.refresh_from_db()
    assert task.crontab is None and task.interval.every == 15
    assert PeriodicTask.objects.filter(task="workers.scheduled_round").count() == 1
    schedule_set(project=project)
    assert LoopConfig.objects.get(project=project).schedule is None
    assert not PeriodicTask.objects.filter(task="workers.scheduled_round").exists()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"cron": "every day"}, "cron needs 5 fields"),
        ({"cron": "61 * * * *"}, "is not valid"),
        ({"every_minutes": 0}, "every_minutes must be an integer"),
        ({"cron": "0 3 * * *", "every_minutes": 5}, "not both"),
    ],
)
def test_schedule_set_refuses_bad_schedules(project, kwargs, message):
    with pytest.raises(ValidationError, match=message):
        schedule_set(project=project, **kwargs)


def test_scheduled_round_is_debounced_and_skips_done_projects(project):
    assert round_scheduled(project_id=project.pk).params["trigger"] == "schedule"
    assert round_scheduled(project_id=project.pk) is None
    Job.objects.update(state=Job.State.SUCCEEDED)
    Project.objects.filter(pk=project.pk).update(status=Project.Status.DONE)
    assert round_scheduled(project_id=project.pk) is None
    assert round_scheduled(project_id=10**9) is None


def test_scheduled_round_skips_when_nothing_changed_since_the_last_round(project):
    from django.utils import timezone

    from labeling.models import Adjudication, QueueItem, Sample
    from labeling.services.label_import import labels_import_csv
    from labeling.services.queue import queue_append

    pool = list(Sample.objects.filter(project=project, split=Sample.Split.POOL).order_by("pk"))
    queue_append(project=project, sample_ids=[s.pk for s in pool[:3]])
    annotator = MembershipFactory(project=project).user

    def after_a_round() -> None:
        """The queue has work and the last round succeeded just now."""
        QueueItem.objects.filter(project=project).update(state=QueueItem.State.OPEN)
        Job.objects.all().delete()
        Job.objects.create(
            project=project,
            kind=Job.Kind.ROUND,
            state=Job.State.SUCCEEDED,
            started_at=timezone.now(),
        )

    def scheduled() -> bool:
        job = round_scheduled(project_id=project.pk)
        if job is not None:
            job.delete()
        return job is not None

    annotation = AnnotationFactory(sample=pool[7], annotator=annotator)
    relabel = f"sample_id,label\n{pool[7].pk},{(annotation.label + 1) % 3}\n"
    for change in (
        lambda: AnnotationFactory(sample=pool[5], annotator=annotator),
        lambda: Adjudication.objects.create(sample=pool[5], label=1, adjudicator=annotator),
        lambda: Sample.objects.filter(pk=pool[6].pk).update(created_at=timezone.now()),
        lambda: LoopConfig.objects.get(project=project).save(),
        lambda: QueueItem.objects.filter(project=project).update(state=QueueItem.State.DONE),
        # a label changed in place by a CSV import (bulk_update keeps updated_at current)
        lambda: labels_import_csv(project=project, user=annotator, source=relabel),
    ):
        after_a_round()
        assert not scheduled()  # same labels, images and settings: the round would repeat
        change()
        assert scheduled()

    # Pretraining that ran the round counts as the round, its own encoder included; an
    # encoder made after it (pretraining alone) is a change.
    after_a_round()
    Job.objects.all().delete()
    started = timezone.now()
    encoder = {"project": project, "method": "simclr", "backbone": "cnn_small"}
    EncoderVersion.objects.create(**encoder)
    Job.objects.create(
        project=project,
        kind=Job.Kind.PRETRAIN,
        state=Job.State.SUCCEEDED,
        params={"round": True},
        started_at=started,
        finished_at=timezone.now(),
    )
    assert not scheduled()
    EncoderVersion.objects.create(**encoder)
    assert scheduled()


def label(annotator, samples) -> None:
    """Labels written straight to the table, then the shared count dropped, as a label
    import does (the queue bumps it instead)."""
    for sample in samples:
        AnnotationFactory(sample=sample, annotator=annotator)
    labeled_count_forget(project_id=samples[0].project_id)


def test_labels_trigger_a_round_every_n_and_only_one_at_a_time(project):
    LoopConfig.objects.filter(project=project).update(retrain_every=3)
    pool = list(project.samples.filter(split="pool"))
    annotator = MembershipFactory(project=project).user
    label(annotator, pool[:2])
    assert round_maybe_trigger(project=project) is None
    label(annotator, pool[2:3])
    job = round_maybe_trigger(project=project)
    assert (job.kind, job.params) == ("round", {"trigger": "labels", "n_labels": 3})
    label(annotator, pool[3:7])
    assert round_maybe_trigger(project=project) is None  # debounced by the running round
    job.state = Job.State.SUCCEEDED
    job.result = {"labels_at_start": 3}
    job.save()
    again = round_maybe_trigger(project=project)
    assert again is not None and again.params["n_labels"] == 7


def test_label_trigger_counts_from_the_latest_classifier_not_imported_predictions(project):
    from labeling.models import ModelVersion
    from labeling.selectors.models import classifier_versions

    LoopConfig.objects.filter(project=project).update(retrain_every=3)
    annotator = MembershipFactory(project=project).user
    pool = list(project.samples.filter(split="pool"))
    label(annotator, pool[:6])
    ModelVersion.objects.create(project=project, kind="linear", n_labels=4, checkpoint="m/a.pt")
    ModelVersion.objects.create(project=project, kind="imported", n_labels=6)  # no classifier
    assert classifier_versions(project=project).first().n_labels == 4
    assert round_maybe_trigger(project=project) is None  # 6 - 4 < 3
    label(annotator, pool[6:7])
    assert round_maybe_trigger(project=project).params["n_labels"] == 7  # 7 - 4 >= 3


def test_the_label_trigger_is_off_at_zero(project):
    annotator = MembershipFactory(project=project).user
    for sample in project.samples.filter(split="pool")[:5]:
        AnnotationFactory(sample=sample, annotator=annotator)
    assert round_maybe_trigger(project=project) is None
