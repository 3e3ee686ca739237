"""Annotations: owners and engineers see all of a project's; annotators only their own."""

from __future__ import annotations

from django.db.models import Q
from django.http import Http404
from django_filters import rest_framework as filters
from rest_framework import serializers, viewsets

from labeling.api.access import managed_project_ids, member_project_ids, parse_id
from labeling.api.base import QuarryApiMixin
from labeling.models import Annotation


class AnnotationSerializer(serializers.ModelSerializer):
    project = serializers.IntegerField(source="sample.project_id", read_only=True)
    annotator = serializers.CharField(source="annotator.username", read_only=True)

    class Meta:
        model = Annotation
        fields = [
            "id",
            "project",
            "sample",
            "annotator",
            "label",
            "time_spent_ms",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class AnnotationFilter(filters.FilterSet):
    project = filters.NumberFilter(field_name="sample__project_id")
    sample = filters.NumberFilter(field_name="sample_id")
    annotator = filters.CharFilter(field_name="annotator__username", max_length=150)
    label = filters.NumberFilter()

    class Meta:
        model = Annotation
        fields = ["project", "sample", "annotator", "label"]


class AnnotationViewSet(QuarryApiMixin, viewsets.ReadOnlyModelViewSet):
    """Labels given. Annotators see their own; owners and engineers see everyone's."""

    serializer_class = AnnotationSerializer
    filterset_class = AnnotationFilter

    def get_queryset(self):
        user = self.request.user
        visible = Q(sample__project_id__in=managed_project_ids(user)) | Q(
            annotator_id=user.pk, sample__project_id__in=member_project_ids(user)
        )
        return (
            Annotation.objects.filter(visible)
            .select_related("annotator", "sample")
            .order_by("-created_at", "-pk")
        )

    def get_object(self):
        annotation = self.get_queryset().filter(pk=parse_id(self.kwargs["pk"])).first()
        if annotation is None:
            raise Http404("no such annotation")
        return annotation
