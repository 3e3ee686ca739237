"""Everything the database holds about one project, to prove a request changed nothing."""

from __future__ import annotations

from labeling.models import (
    Adjudication,
    Annotation,
    Job,
    LearningCurvePoint,
    LoopConfig,
    Membership,
    ModelVersion,
    Prediction,
    Project,
    QueueItem,
    Reservation,
    Sample,
    SimulationRun,
    Skip,
)

BY_PROJECT = {
    Project: "pk",
    LoopConfig: "project_id",
    Membership: "project_id",
    Sample: "project_id",
    Annotation: "sample__project_id",
    Adjudication: "sample__project_id",
    QueueItem: "project_id",
    Reservation: "item__project_id",
    Skip: "item__project_id",
    Job: "project_id",
    ModelVersion: "project_id",
    Prediction: "model_version__project_id",
    LearningCurvePoint: "project_id",
    SimulationRun: "project_id",
}


def snapshot(project_id: int) -> dict[str, list[dict]]:
    return {
        model.__name__: list(model.objects.filter(**{lookup: project_id}).order_by("pk").values())
        for model, lookup in BY_PROJECT.items()
    }
