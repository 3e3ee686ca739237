"""Asking for the loop's work: a round, pretraining, a simulation, a retraining schedule.

Each request is one job row (see ``labeling.services.jobs``); a worker runs it once the
transaction commits. Training-type requests are refused with ``JobConflictError`` while
the project has one queued or running.
"""

from __future__ import annotations

import json
import logging

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q

from labeling.models import (
    Adjudication,
    Annotation,
    EncoderVersion,
    Job,
    LoopConfig,
    Membership,
    Project,
    QueueItem,
    Sample,
)
from labeling.services.jobs import JobConflictError, job_create

log = logging.getLogger(__name__)

MANAGER_ROLES = (Membership.Role.OWNER, Membership.Role.ENGINEER)
SCHEDULED_TASK = "workers.scheduled_round"
MAX_SIMULATION_BUDGET = 100_000
MAX_SIMULATION_SEEDS = 50
MAX_EVERY_MINUTES = 366 * 24 * 60


def _require_manager(project: Project, user: AbstractBaseUser | None, what: str) -> None:
    """``user=None`` is the system itself (commands, schedules); a person must be an
    owner or engineer of the project."""
    if user is None:
        return
    if not user.is_authenticated:
        raise PermissionDenied(f"only a project owner or engineer may {what}")
    if getattr(user, "is_superuser", False):
        return
    role = (
        Membership.objects.filter(project=project, user_id=user.pk)
        .values_list("role", flat=True)
        .first()
    )
    if role not in MANAGER_ROLES:
        raise PermissionDenied(f"only a project owner or engineer may {what}")


def _config(project: Project) -> LoopConfig:
    config, _ = LoopConfig.objects.get_or_create(project=project)
    return config


def round_request(
    *, project: Project, user: AbstractBaseUser | None = None, pretrain: bool = False
) -> Job:
    """Queue a retrain round (train -> score -> select -> evaluate); with ``pretrain``,
    self-supervised pretraining and embedding first."""
    _require_manager(project, user, "start a round")
    _config(project)
    if not Sample.objects.filter(project=project).exists():
        raise ValueError(f"project {project.name!r} has no images yet: import some first")
    if pretrain:
        return job_create(
            project=project,
            kind=Job.Kind.PRETRAIN,
            params={"round": True, "trigger": "manual"},
            requested_by=user,
        )
    return job_create(
        project=project, kind=Job.Kind.ROUND, params={"trigger": "manual"}, requested_by=user
    )


def pretrain_request(*, project: Project, user: AbstractBaseUser | None = None) -> Job:
    """Queue self-supervised pretraining on the project's images, then their embeddings."""
    _require_manager(project, user, "start pretraining")
    _config(project)
    if Sample.objects.filter(project=project).count() < 2:
        raise ValueError(f"project {project.name!r} needs at least 2 images to pretrain")
    return job_create(
        project=project,
        kind=Job.Kind.PRETRAIN,
        params={"round": False, "trigger": "manual"},
        requested_by=user,
    )


def round_scheduled(*, project_id: int) -> Job | None:
    """What a project's schedule runs: a round, unless one is already queued or running,
    the project is done, or nothing changed since the last round (see ``_nothing_new``)."""
    project = Project.objects.filter(pk=project_id).first()
    if project is None or project.status == Project.Status.DONE:
        return None
    if _nothing_new(project):
        log.info("project %s: no new labels, images or settings since the last round", project.pk)
        return None
    try:
        return job_create(project=project, kind=Job.Kind.ROUND, params={"trigger": "schedule"})
    except JobConflictError:
        return None


def _nothing_new(project: Project) -> bool:
    """True when the last successful round (a round job, or pretraining that ran one, as
    the label trigger counts them) started after every label, adjudication, image and loop
    setting the project has, no encoder came after it, and the queue still has work:
    another round would train on the same data and add the same learning-curve point.
    (A label taken back leaves no trace here; the next label brings the round back.)"""
    ran_round = Q(kind=Job.Kind.ROUND) | Q(kind=Job.Kind.PRETRAIN, params__round=True)
    last = (
        Job.objects.filter(ran_round, project=project, state=Job.State.SUCCEEDED)
        .exclude(started_at=None)
        .order_by("-started_at")
        .values_list("started_at", "finished_at")
        .first()
    )
    if last is None:
        return False
    started, finished = last
    if not QueueItem.objects.filter(project=project, state=QueueItem.State.OPEN).exists():
        return False  # the queue ran dry (skips, releases): a round refills it
    changed = (
        Annotation.objects.filter(sample__project=project, updated_at__gte=started),
        Adjudication.objects.filter(sample__project=project, created_at__gte=started),
        Sample.objects.filter(project=project, created_at__gte=started),
        LoopConfig.objects.filter(project=project, updated_at__gte=started),
        # the round's own pretraining made its encoder before it finished
        EncoderVersion.objects.filter(project=project, created_at__gt=finished or started),
    )
    return not any(rows.exists() for rows in changed)


def simulation_request(
    *,
    project: Project,
    user: AbstractBaseUser | None = None,
    strategies: list[str],
    budget: int,
    seeds: int = 5,
) -> Job:
    """Queue a simulation of ``strategies`` on the project's embeddings and oracle labels."""
    import al_engine

    _require_manager(project, user, "run a simulation")
    if isinstance(strategies, str) or not strategies:
        raise ValueError("strategies must be a non-empty list of strategy names")
    unknown = [s for s in strategies if s not in al_engine.STRATEGIES]
    if unknown:
        valid = ", ".join(sorted(al_engine.STRATEGIES))
        raise ValueError(f"unknown strategy {unknown[0]!r}; valid strategies: {valid}")
    for name, value, high in (
        ("budget", budget, MAX_SIMULATION_BUDGET),
        ("seeds", seeds, MAX_SIMULATION_SEEDS),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= high:
            raise ValueError(f"{name} must be an integer between 1 and {high}, not {value!r}")
    oracle = Sample.objects.filter(project=project, split=Sample.Split.POOL).exclude(
        oracle_label=None
    )
    if oracle.values("oracle_label").distinct().count() < 2:
        raise ValueError(
            "a simulation needs oracle labels of at least two classes in the pool: "
            "import the dataset with labels_as='oracle'"
        )
    if not EncoderVersion.objects.filter(project=project, n_embedded__gt=0).exists():
        raise ValueError("a simulation needs embeddings: pretrain the project first")
    return job_create(
        project=project,
        kind=Job.Kind.SIMULATE,
        params={"strategies": list(dict.fromkeys(strategies)), "budget": budget, "seeds": seeds},
        requested_by=user,
    )


def _crontab_fields(cron: str) -> dict[str, str]:
    from celery.schedules import crontab

    if not isinstance(cron, str):
        raise ValidationError("cron must be text like '0 3 * * *'")
    parts = cron.split()
    if len(parts) != 5:
        raise ValidationError(
            f"cron needs 5 fields (minute hour day-of-month month day-of-week), got {cron!r}"
        )
    minute, hour, day_of_month, month_of_year, day_of_week = parts
    try:
        crontab(minute, hour, day_of_week, day_of_month, month_of_year)
    except (ValueError, TypeError) as exc:
        raise ValidationError(f"cron {cron!r} is not valid: {exc}") from exc
    return {
        "minute": minute,
        "hour": hour,
        "day_of_month": day_of_month,
        "month_of_year": month_of_year,
        "day_of_week": day_of_week,
    }


@transaction.atomic
def schedule_set(
    *,
    project: Project,
    user: AbstractBaseUser | None = None,
    cron: str | None = None,
    every_minutes: int | None = None,
) -> None:
    """Run a round on a schedule: a cron expression (UTC) or every N minutes; None and
    None remove the schedule. One django-celery-beat PeriodicTask per project."""
    from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

    _require_manager(project, user, "change the retraining schedule")
    if cron is not None and every_minutes is not None:
        raise ValidationError("give either cron or every_minutes, not both")
    config = LoopConfig.objects.select_for_update().get(pk=_config(project).pk)
    task = config.schedule
    if cron is None and every_minutes is None:
        if task is not None:
            config.schedule = None
            config.save(update_fields=["schedule", "updated_at"])
            task.delete()
        return
    fields: dict = {"crontab": None, "interval": None}
    if cron is not None:
        schedule, _ = CrontabSchedule.objects.get_or_create(timezone="UTC", **_crontab_fields(cron))
        fields["crontab"] = schedule
    else:
        if (
            isinstance(every_minutes, bool)
            or not isinstance(every_minutes, int)
            or not 1 <= every_minutes <= MAX_EVERY_MINUTES
        ):
            raise ValidationError(
                f"every_minutes must be an integer between 1 and {MAX_EVERY_MINUTES}"
            )
        schedule, _ = IntervalSchedule.objects.get_or_create(
            every=every_minutes, period=IntervalSchedule.MINUTES
        )
        fields["interval"] = schedule
    name = f"quarry: retrain project {project.pk}"
    values = {
        **fields,
        "task": SCHEDULED_TASK,
        "args": json.dumps([project.pk]),
        "queue": "default",
        "enabled": True,
        "description": f"Retrain round for {project.name}",
    }
    if task is None:
        task = PeriodicTask.objects.filter(name=name).first()
    if task is None:
        task = PeriodicTask.objects.create(name=name, **values)
    else:
        for key, value in values.items():
            setattr(task, key, value)
        task.save()
    if config.schedule_id != task.pk:
        config.schedule = task
        config.save(update_fields=["schedule", "updated_at"])
