"""Creating and cancelling background jobs.

A job is a row first; the Celery message that runs it is sent only after the row is
committed, and carries nothing but the job's id.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils import timezone

from labeling.models import Job, Project

TRAINING_LOCK = "training"


class JobConflictError(Exception):
    """The project already has a training-type job queued or running."""

    def __init__(self, project: Project, active: Job | None) -> None:
        self.project = project
        self.active = active
        what = (
            f"{active.kind} job {active.pk} is {active.state}" if active else "another job holds it"
        )
        super().__init__(f"project {project.name!r} is busy: {what}")


def _enqueue(job_id: int) -> None:
    from workers.dispatch import enqueue_job

    enqueue_job(job_id)


def job_create(
    *,
    project: Project,
    kind: str,
    params: dict[str, Any] | None = None,
    requested_by: AbstractBaseUser | None = None,
    parent: Job | None = None,
    enqueue: bool = True,
) -> Job:
    """Create a queued job and send it to a worker once the transaction commits.

    Training-type jobs take the project's training lock: the database refuses a
    second one while one is queued or running (``JobConflictError``).
    """
    if kind not in Job.Kind.values:
        raise ValueError(f"unknown job kind {kind!r}; valid kinds: {', '.join(Job.Kind.values)}")
    lock = TRAINING_LOCK if kind in Job.TRAINING_KINDS and parent is None else None
    user = requested_by if requested_by is not None and requested_by.is_authenticated else None
    try:
        with transaction.atomic():
            job = Job.objects.create(
                project=project,
                kind=kind,
                params=params or {},
                lock=lock,
                parent=parent,
                requested_by=user,
            )
    except IntegrityError as exc:
        if lock is None:
            raise
        active = Job.objects.filter(
            project=project, lock=TRAINING_LOCK, state__in=Job.ACTIVE_STATES
        ).first()
        raise JobConflictError(project, active) from exc
    if enqueue:
        transaction.on_commit(partial(_enqueue, job.pk))
    return job


def job_cancel(*, job: Job) -> Job:
    """Cancel a queued job at once; ask a running one to stop at its next heartbeat."""
    with transaction.atomic():
        job = Job.objects.select_for_update().get(pk=job.pk)
        if job.state == Job.State.QUEUED:
            job.state = Job.State.CANCELLED
            job.finished_at = timezone.now()
            job.message = "cancelled before it started"
            job.save(update_fields=["state", "finished_at", "message"])
        elif job.state == Job.State.RUNNING:
            job.cancel_requested = True
            job.save(update_fields=["cancel_requested"])
    return job
