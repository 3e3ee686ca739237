"""A learning-curve point for the model; the project is marked done at its target
accuracy or once its label budget is spent."""

from __future__ import annotations

from labeling.models import LearningCurvePoint, Project
from labeling.selectors.progress import done_reason
from workers.context import StepContext
from workers.steps import score


def project_finish_if_done(ctx: StepContext, accuracy: float | None) -> str | None:
    project = ctx.project
    project.refresh_from_db(fields=["status", "label_budget", "target_accuracy", "done_reason"])
    if project.status == Project.Status.DONE:
        return None
    reason = done_reason(project=project, accuracy=accuracy)
    if reason:
        Project.objects.filter(pk=project.pk).update(status=Project.Status.DONE, done_reason=reason)
        project.refresh_from_db(fields=["status", "done_reason"])
        ctx.note(f"project done: {reason}")
    return reason


def run(ctx: StepContext) -> LearningCurvePoint | None:
    version = score.current_model(ctx)
    if version is None:
        project_finish_if_done(ctx, None)
        return None
    accuracy = version.metrics.get("accuracy")
    if accuracy is None:
        ctx.note("no learning-curve point: nothing to measure the model on")
        project_finish_if_done(ctx, None)
        return None
    point, _ = LearningCurvePoint.objects.get_or_create(
        model_version=version,
        defaults={
            "project": ctx.project,
            "n_labels": version.n_labels,
            "accuracy": float(accuracy),
            "macro_f1": float(version.metrics.get("macro_f1", 0.0)),
            "per_class_recall": version.metrics.get("per_class_recall", []),
        },
    )
    ctx.result["evaluate"] = {
        "n_labels": point.n_labels,
        "accuracy": point.accuracy,
        "macro_f1": point.macro_f1,
        "source": version.metrics.get("source"),
    }
    project_finish_if_done(ctx, point.accuracy)
    return point
