"""How far a project has come: labeled, queued, budget, and whether that makes it done."""

from __future__ import annotations

from dataclasses import dataclass

from labeling.models import Annotation, LearningCurvePoint, Project, QueueItem, Sample
from labeling.selectors.labels import labeled_count


@dataclass(frozen=True)
class Progress:
    samples: int
    labeled: int
    queued: int
    budget: int | None

    @property
    def budget_fraction(self) -> float | None:
        if not self.budget:
            return None
        return min(1.0, self.labeled / self.budget)


def project_progress(*, project: Project) -> Progress:
    return Progress(
        samples=Sample.objects.filter(project=project).count(),
        labeled=Annotation.objects.filter(sample__project=project)
        .values("sample_id")
        .distinct()
        .count(),
        queued=QueueItem.objects.filter(project=project, state=QueueItem.State.OPEN).count(),
        budget=project.label_budget,
    )


def done_reason(*, project: Project, accuracy: float | None) -> str | None:
    """Why the loop should stop, or None: the target accuracy reached by ``accuracy``, or
    the label budget spent."""
    if project.target_accuracy and accuracy is not None and accuracy >= project.target_accuracy:
        return f"target accuracy {project.target_accuracy:.3f} reached ({accuracy:.3f})"
    if project.label_budget is not None:
        labeled = labeled_count(project=project)
        if labeled >= project.label_budget:
            return f"label budget of {project.label_budget} spent ({labeled} labels)"
    return None


def latest_accuracy(*, project: Project) -> float | None:
    """The holdout accuracy of the project's newest learning-curve point."""
    return (
        LearningCurvePoint.objects.filter(project=project)
        .order_by("-pk")
        .values_list("accuracy", flat=True)
        .first()
    )
