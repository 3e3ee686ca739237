"""What the loop produced: model versions and their metrics, learning curves, simulations."""

from __future__ import annotations

from django.http import Http404
from django_filters import rest_framework as filters
from rest_framework import serializers, viewsets

from labeling.api.access import member_project_ids, parse_id
from labeling.api.base import QuarryApiMixin
from labeling.models import LearningCurvePoint, ModelVersion, SimulationRun


class ModelVersionSerializer(serializers.ModelSerializer):
    class Meta:
        model = ModelVersion
        fields = [
            "id",
            "project",
            "encoder",
            "job",
            "kind",
            "params",
            "n_labels",
            "metrics",
            "holdout_accuracy",
            "created_at",
        ]
        read_only_fields = fields


class CurvePointSerializer(serializers.ModelSerializer):
    class Meta:
        model = LearningCurvePoint
        fields = [
            "id",
            "project",
            "model_version",
            "n_labels",
            "accuracy",
            "macro_f1",
            "per_class_recall",
            "created_at",
        ]
        read_only_fields = fields


class SimulationSerializer(serializers.ModelSerializer):
    class Meta:
        model = SimulationRun
        fields = ["id", "project", "job", "params", "result", "created_at"]
        read_only_fields = fields


class ProjectFilter(filters.FilterSet):
    project = filters.NumberFilter(field_name="project_id")


class _ProjectScoped(QuarryApiMixin, viewsets.ReadOnlyModelViewSet):
    model = None
    ordering: tuple[str, ...] = ("-created_at", "-pk")
    filterset_class = ProjectFilter

    def get_queryset(self):
        return self.model.objects.filter(
            project_id__in=member_project_ids(self.request.user)
        ).order_by(*self.ordering)

    def get_object(self):
        obj = self.get_queryset().filter(pk=parse_id(self.kwargs["pk"])).first()
        if obj is None:
            raise Http404("no such object")
        return obj


class ModelVersionViewSet(_ProjectScoped):
    """Trained classifiers with their holdout metrics (accuracy, macro-F1, recall, confusion)."""

    model = ModelVersion
    serializer_class = ModelVersionSerializer


class LearningCurveViewSet(_ProjectScoped):
    """Holdout accuracy and macro-F1 against the number of labels, one point per model."""

    model = LearningCurvePoint
    serializer_class = CurvePointSerializer
    ordering = ("project_id", "n_labels", "created_at", "pk")


class SimulationViewSet(_ProjectScoped):
    """Simulated learning curves per strategy, with the random baseline."""

    model = SimulationRun
    serializer_class = SimulationSerializer
