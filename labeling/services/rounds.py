"""When to retrain: after every N new labels, one round at a time."""

from __future__ import annotations

import json

from labeling.models import Job, LoopConfig, ModelVersion, Project
from labeling.selectors import sql
from labeling.selectors.labels import labeled_count_recent
from labeling.services.jobs import TRAINING_LOCK, JobConflictError, job_create


def labels_at_last_round(*, model_labels: int | None, round_result) -> int:
    """Label count the latest model was trained on, or the latest finished round saw
    (a round without embeddings selects a batch but trains no model)."""
    if isinstance(round_result, str):
        round_result = json.loads(round_result)
    seen = round_result.get("labels_at_start") if isinstance(round_result, dict) else None
    return max(model_labels or 0, seen if isinstance(seen, int) else 0)


# Everything the trigger reads, in one statement: it runs after every label. The latest
# classifier is ``selectors.models.classifier_versions().first()`` (a checkpoint, newest
# first); the lock and states are those ``services.jobs`` uses.
TRIGGER_STATE = f"""
    SELECT p.status, c.retrain_every,
      (SELECT m.n_labels FROM {ModelVersion._meta.db_table} m
        WHERE m.project_id = p.id AND m.checkpoint <> ''
        ORDER BY m.created_at DESC, m.id DESC LIMIT 1),
      (SELECT j.result FROM {Job._meta.db_table} j
        WHERE j.project_id = p.id AND j.kind IN (%(round)s, %(pretrain)s)
          AND j.state = %(succeeded)s
        ORDER BY j.finished_at DESC, j.id DESC LIMIT 1),
      CASE WHEN EXISTS (SELECT 1 FROM {Job._meta.db_table} j
        WHERE j.project_id = p.id AND j.lock = %(lock)s AND j.state IN (%(queued)s, %(running)s))
      THEN 1 ELSE 0 END
    FROM {Project._meta.db_table} p
    LEFT JOIN {LoopConfig._meta.db_table} c ON c.project_id = p.id
    WHERE p.id = %(project)s"""


def round_maybe_trigger(*, project: Project) -> Job | None:
    """Queue a retrain round once ``retrain_every`` labels arrived since the last round.

    Debounced by the database: while a training-type job is queued or running the
    project's lock refuses another, and this returns None. Called after each label, so
    it reads the shared labeled count (``labeled_count_recent``): exact for the labels
    this process took, within a few seconds for those of others.
    """
    found = sql.fetch(
        TRIGGER_STATE,
        {
            "project": project.pk,
            "round": Job.Kind.ROUND.value,
            "pretrain": Job.Kind.PRETRAIN.value,
            "succeeded": Job.State.SUCCEEDED.value,
            "lock": TRAINING_LOCK,
            "queued": Job.State.QUEUED.value,
            "running": Job.State.RUNNING.value,
        },
    )
    if not found:
        return None
    project.status, every, model_labels, round_result, training = found[0]
    if not every or project.status == Project.Status.DONE or training:
        return None
    labeled = labeled_count_recent(project=project)
    last = labels_at_last_round(model_labels=model_labels, round_result=round_result)
    if labeled - last < every:
        return None
    try:
        return job_create(
            project=project, kind=Job.Kind.ROUND, params={"trigger": "labels", "n_labels": labeled}
        )
    except JobConflictError:
        return None
