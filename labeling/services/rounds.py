"""When to retrain: after every N new labels, one round at a time."""

from __future__ import annotations

from labeling.models import Job, LoopConfig, ModelVersion, Project
from labeling.selectors.labels import labeled_count
from labeling.services.jobs import JobConflictError, job_create


def round_maybe_trigger(*, project: Project) -> Job | None:
    """Queue a retrain round once ``retrain_every`` labels arrived since the last model.

    Debounced by the database: while a training-type job is queued or running the
    project's lock refuses another, and this returns None.
    """
    project.refresh_from_db(fields=["status"])
    config = LoopConfig.objects.filter(project=project).first()
    if config is None or not config.retrain_every or project.status == Project.Status.DONE:
        return None
    labeled = labeled_count(project=project)
    last = (
        ModelVersion.objects.filter(project=project)
        .order_by("-created_at")
        .values_list("n_labels", flat=True)
        .first()
        or 0
    )
    if labeled - last < config.retrain_every:
        return None
    if Job.objects.filter(project=project, lock="training", state__in=Job.ACTIVE_STATES).exists():
        return None
    try:
        return job_create(
            project=project, kind=Job.Kind.ROUND, params={"trigger": "labels", "n_labels": labeled}
        )
    except JobConflictError:
        return None
