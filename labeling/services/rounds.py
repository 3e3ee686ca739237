"""When to retrain: after every N new labels, one round at a time."""

from __future__ import annotations

from labeling.models import Job, LoopConfig, Project
from labeling.selectors import sql
from labeling.selectors.labels import labeled_count_recent
from labeling.selectors.models import classifier_versions
from labeling.services.jobs import TRAINING_LOCK, JobConflictError, job_create


def labels_at_last_round(*, project: Project) -> int:
    """Label count the latest model was trained on, or the latest finished round saw
    (a round without embeddings selects a batch but trains no model)."""
    model = classifier_versions(project=project).values_list("n_labels", flat=True).first()
    result = (
        Job.objects.filter(
            project=project,
            kind__in=(Job.Kind.ROUND, Job.Kind.PRETRAIN),
            state=Job.State.SUCCEEDED,
        )
        .order_by("-finished_at", "-pk")
        .values_list("result", flat=True)
        .first()
    ) or {}
    seen = result.get("labels_at_start") if isinstance(result, dict) else None
    return max(model or 0, seen if isinstance(seen, int) else 0)


def round_maybe_trigger(*, project: Project) -> Job | None:
    """Queue a retrain round once ``retrain_every`` labels arrived since the last round.

    Debounced by the database: while a training-type job is queued or running the
    project's lock refuses another, and this returns None. Called after each label, so
    it reads the shared labeled count (``labeled_count_recent``): exact for the labels
    this process took, within a few seconds for those of others.
    """
    # runs after every label: a fixed statement (see selectors.sql)
    fresh = sql.fetch(
        f"""SELECT p.status, c.retrain_every FROM {Project._meta.db_table} p
        LEFT JOIN {LoopConfig._meta.db_table} c ON c.project_id = p.id WHERE p.id = %s""",
        [project.pk],
    )
    if not fresh:
        return None
    project.status, every = fresh[0]
    if not every or project.status == Project.Status.DONE:
        return None
    labeled = labeled_count_recent(project=project)
    if labeled - labels_at_last_round(project=project) < every:
        return None
    if Job.objects.filter(
        project=project, lock=TRAINING_LOCK, state__in=Job.ACTIVE_STATES
    ).exists():
        return None
    try:
        return job_create(
            project=project, kind=Job.Kind.ROUND, params={"trigger": "labels", "n_labels": labeled}
        )
    except JobConflictError:
        return None
