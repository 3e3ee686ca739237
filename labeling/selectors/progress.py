"""How far a project has come: labeled, queued, budget."""

from __future__ import annotations

from dataclasses import dataclass

from labeling.models import Annotation, Project, QueueItem, Sample


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
