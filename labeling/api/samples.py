"""Samples: the list with label, prediction and state; the image; uploads through the importer."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
)
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from labeling.api.access import MANAGERS, member_project_ids, parse_id, project_for
from labeling.api.base import Conflict, ImportReport, QuarryApiMixin, check_content_length
from labeling.models import Membership, Sample
from labeling.selectors.exports import (
    STATES,
    filter_state,
    label_info,
    sample_table,
    state_of,
)

IMAGE_TYPES = {"png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "webp": "image/webp"}


class PredictionSerializer(serializers.Serializer):
    label = serializers.IntegerField()
    confidence = serializers.FloatField()
    score = serializers.FloatField(allow_null=True)


class SampleSerializer(serializers.ModelSerializer):
    file_name = serializers.CharField(source="original_name")
    state = serializers.SerializerMethodField()
    label = serializers.SerializerMethodField()
    annotators = serializers.SerializerMethodField()
    prediction = serializers.SerializerMethodField()
    oracle_label = serializers.SerializerMethodField()

    class Meta:
        model = Sample
        fields = [
            "id",
            "project",
            "file_name",
            "sha256",
            "width",
            "height",
            "split",
            "state",
            "label",
            "annotators",
            "prediction",
            "oracle_label",
            "created_at",
        ]
        read_only_fields = fields

    def _manager(self, sample) -> bool:
        return self.context["roles"].get(sample.project_id) in MANAGERS

    def _info(self, sample):
        return self.context["labels"].get(sample.pk)

    def get_state(self, sample) -> str:
        return state_of(sample)

    def get_label(self, sample) -> int | None:
        """The sample's label: adjudicated or majority (annotators: their own label)."""
        info = self._info(sample)
        return info.label if info else None

    def get_annotators(self, sample) -> list[str]:
        info = self._info(sample)
        return list(info.annotators) if info else []

    @extend_schema_field(PredictionSerializer(allow_null=True))
    def get_prediction(self, sample) -> dict | None:
        label = getattr(sample, "pred_label", None)
        if label is None:
            return None
        return {
            "label": label,
            "confidence": sample.pred_confidence,
            "score": sample.pred_score,
        }

    def get_oracle_label(self, sample) -> int | None:
        """Hidden ground truth: owners and engineers only (null for annotators)."""
        return sample.oracle_label if self._manager(sample) else None


class SampleFilter(filters.FilterSet):
    project = filters.NumberFilter(field_name="project_id")
    split = filters.ChoiceFilter(choices=Sample.Split.choices)
    state = filters.ChoiceFilter(
        choices=[(s, s) for s in STATES], method="filter_by_state", label="state"
    )
    sha256 = filters.CharFilter(max_length=64)
    file_name = filters.CharFilter(field_name="original_name", max_length=255)

    class Meta:
        model = Sample
        fields = ["project", "split", "state", "sha256", "file_name"]

    def filter_by_state(self, queryset, name, value):
        return filter_state(queryset, value)


class SampleViewSet(QuarryApiMixin, viewsets.ReadOnlyModelViewSet):
    """Samples of your projects. Annotators see only their own labels and no oracle labels."""

    serializer_class = SampleSerializer
    filterset_class = SampleFilter

    def _roles(self) -> dict[int, str]:
        if not hasattr(self, "_role_map"):
            self._role_map = dict(
                Membership.objects.filter(user=self.request.user).values_list("project_id", "role")
            )
        return self._role_map

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Sample.objects.none()
        return sample_table(project_ids=member_project_ids(self.request.user)).order_by("pk")

    def get_object(self):
        sample = self.get_queryset().filter(pk=parse_id(self.kwargs["pk"])).first()
        if sample is None:
            raise Http404("no such sample")
        return sample

    def get_serializer_context(self):
        context = super().get_serializer_context()
        context["roles"] = self._roles() if self.request.user.is_authenticated else {}
        context.setdefault("labels", {})
        return context

    def _labels_for(self, samples) -> dict:
        roles = self._roles()
        managed = [s.pk for s in samples if roles.get(s.project_id) in MANAGERS]
        own = [s.pk for s in samples if roles.get(s.project_id) not in MANAGERS]
        labels = label_info(managed) if managed else {}
        if own:
            labels.update(label_info(own, annotator_id=self.request.user.pk))
        return labels

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        context = {**self.get_serializer_context(), "labels": self._labels_for(page)}
        data = SampleSerializer(page, many=True, context=context).data
        return self.get_paginated_response(data)

    def retrieve(self, request, *args, **kwargs):
        sample = self.get_object()
        context = {**self.get_serializer_context(), "labels": self._labels_for([sample])}
        return Response(SampleSerializer(sample, context=context).data)

    @extend_schema(
        responses={(200, "image/*"): OpenApiResponse(OpenApiTypes.BINARY, description="The image")}
    )
    @action(detail=True, methods=["get"], filterset_class=None, pagination_class=None)
    def image(self, request, pk=None):
        sample = self.get_object()
        name = sample.file.name
        extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
        try:
            handle = default_storage.open(name, "rb")
        except (FileNotFoundError, ValueError) as exc:
            raise Http404("the image file is missing") from exc
        response = FileResponse(handle, content_type=IMAGE_TYPES.get(extension, "image/png"))
        response["Cache-Control"] = "private, max-age=3600"
        response["X-Content-Type-Options"] = "nosniff"
        return response


class UploadSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="an image or a .zip of images (class folders allowed)")
    labels_as = serializers.ChoiceField(
        choices=["none", "seed", "oracle"],
        default="none",
        help_text="what class sub-folders of a zip mean: nothing, seed labels, or hidden truth",
    )
    holdout = serializers.FloatField(min_value=0.0, max_value=0.9, default=0.0)
    seed = serializers.IntegerField(min_value=0, max_value=2**31 - 1, default=0)


class ProjectUploadView(QuarryApiMixin, APIView):
    """Upload images or a zip into a project (owners and engineers); answers the import report."""

    parser_classes = [MultiPartParser]

    @extend_schema(
        request={"multipart/form-data": UploadSerializer},
        responses={201: ImportReport, 400: ImportReport, 409: ImportReport},
    )
    def post(self, request, pk):
        from labeling.services.imports import dataset_import

        project = project_for(request.user, pk, roles=MANAGERS, action="upload images")
        check_content_length(request, settings.QUARRY_MAX_UPLOAD_BYTES, "upload")
        serializer = UploadSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            report = dataset_import(
                project=project,
                path=data["file"],
                labels_as=data["labels_as"],
                holdout=data["holdout"],
                seed=data["seed"],
            )
        except ValueError as exc:
            raise ValidationError({"file": [str(exc)]}) from exc
        body = report.to_dict()
        if report.imported:
            detail = f"imported {report.imported} image(s)"
            if report.duplicates or report.rejected:
                detail += (
                    f"; {len(report.duplicates)} duplicate(s) and {len(report.rejected)} "
                    "rejected file(s) were left out"
                )
            return Response({"detail": detail, "report": body}, status=status.HTTP_201_CREATED)
        if report.rejected:
            reasons = "; ".join(f"{name}: {why}" for name, why in report.rejected[:5])
            return Response(
                {"detail": f"nothing was imported: {reasons}", "report": body},
                status=status.HTTP_400_BAD_REQUEST,
            )
        if report.duplicates:
            raise Conflict(
                "nothing was imported: every image is already in the project "
                f"({', '.join(report.duplicates[:5])})"
            )
        detail = "nothing was imported: the upload holds no images"
        if report.ignored:
            names = ", ".join(report.ignored[:5])
            detail += (
                f"; {len(report.ignored)} file(s) were ignored as hidden or system files: {names}"
            )
        return Response(
            {"detail": detail, "report": body},
            status=status.HTTP_400_BAD_REQUEST,
        )
