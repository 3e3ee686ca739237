"""What the engineer's dashboard and jobs page show: curves, distributions, throughput, jobs."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from django.db.models import Count, Sum
from django.utils import timezone

from labeling.models import (
    Annotation,
    Job,
    LearningCurvePoint,
    ModelVersion,
    Project,
    QueueItem,
    SimulationRun,
)
from labeling.selectors.labels import effective_labels


def job_rows(*, project: Project, limit: int = 50) -> list[dict]:
    """The newest jobs of the project as JSON-able rows for the jobs page and its poll."""
    rows = []
    jobs = Job.objects.filter(project=project).select_related("requested_by")[:limit]
    for job in jobs:
        duration = job.duration_seconds
        rows.append(
            {
                "id": job.pk,
                "kind": job.kind,
                "kind_display": job.get_kind_display(),
                "state": job.state,
                "progress": round(max(0.0, min(1.0, job.progress or 0.0)), 4),
                "message": job.message,
                "error": job.error[-2000:],
                "created_at": job.created_at.isoformat(),
                "duration_s": None if duration is None else round(duration, 1),
                "requested_by": job.requested_by.get_username() if job.requested_by else "",
                "active": job.state in Job.ACTIVE_STATES,
                "cancel_requested": job.cancel_requested,
                "parent": job.parent_id,
            }
        )
    return rows


def current_model(*, project: Project) -> ModelVersion | None:
    """The newest model the loop trained: imported predictions have no metrics to show."""
    versions = ModelVersion.objects.filter(project=project).exclude(kind=ModelVersion.IMPORTED)
    return versions.order_by("-created_at", "-pk").first()


def learning_curve(*, project: Project) -> list[dict]:
    return [
        {"n_labels": p.n_labels, "accuracy": p.accuracy, "macro_f1": p.macro_f1}
        for p in LearningCurvePoint.objects.filter(project=project).order_by("n_labels", "pk")
    ]


def simulated_curves(*, project: Project) -> dict[str, dict]:
    """Strategy -> {"n_labels", "mean", "std"} from the newest simulation that has curves."""
    for run in SimulationRun.objects.filter(project=project).order_by("-created_at")[:5]:
        strategies = (run.result or {}).get("strategies") or {}
        curves = {
            name: curve
            for name, curve in strategies.items()
            if isinstance(curve, dict) and curve.get("n_labels") and curve.get("mean")
        }
        if curves:
            return curves
    return {}


def label_distribution(*, project: Project) -> list[tuple[str, int]]:
    """(class name, samples with that effective label), every class listed."""
    counts = Counter(effective_labels(project=project).values())
    return [(name, counts.get(i, 0)) for i, name in enumerate(project.classes)]


def throughput(*, project: Project, hours: int = 24) -> list[dict]:
    """Per annotator: labels in the window, active hours and labels per active hour.

    Active time is what the label view measured per label (``time_spent_ms``); with none
    measured, the span between the first and last label in the window stands in.
    """
    since = timezone.now() - timedelta(hours=hours)
    rows = (
        Annotation.objects.filter(sample__project=project, created_at__gte=since)
        .values("annotator__username")
        .annotate(n=Count("pk"), spent=Sum("time_spent_ms"))
        .order_by("-n")
    )
    result = []
    for row in rows:
        active_h = (row["spent"] or 0) / 3_600_000
        rate = row["n"] / active_h if active_h > 0 else None
        result.append(
            {
                "annotator": row["annotator__username"],
                "labels": row["n"],
                "active_hours": round(active_h, 3),
                "per_hour": None if rate is None else round(rate, 1),
            }
        )
    return result


def queue_size(*, project: Project) -> int:
    return QueueItem.objects.filter(project=project, state=QueueItem.State.OPEN).count()


def confusion(model: ModelVersion | None) -> list[list[int]] | None:
    if model is None:
        return None
    matrix = (model.metrics or {}).get("confusion")
    if not isinstance(matrix, list) or not matrix or not all(isinstance(r, list) for r in matrix):
        return None
    return matrix


def latest_confusion(*, project: Project) -> list[list[int]] | None:
    """The confusion matrix of the newest model version that has one (a model still being
    evaluated has none yet)."""
    for model in ModelVersion.objects.filter(project=project).order_by("-created_at")[:10]:
        matrix = confusion(model)
        if matrix is not None:
            return matrix
    return None
