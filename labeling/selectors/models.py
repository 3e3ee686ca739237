"""Model versions as the loop reads them."""

from __future__ import annotations

from django.db.models import QuerySet

from labeling.models import ModelVersion, Project

__all__ = ["classifier_versions"]


def classifier_versions(*, project: Project | int) -> QuerySet[ModelVersion]:
    """The project's model versions that have a classifier (a saved head; imported
    predictions have none), newest first: ``.first()`` is the model that scores and selects."""
    return (
        ModelVersion.objects.filter(project=project)
        .exclude(checkpoint="")
        .order_by("-created_at", "-pk")
    )
