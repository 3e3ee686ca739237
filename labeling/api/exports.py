"""Streaming exports of a project's labels, and CSV imports of labels or predictions."""

from __future__ import annotations

from django.conf import settings
from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
)
from rest_framework import serializers, status
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from labeling.api.access import MANAGERS, project_for
from labeling.api.base import ImportReport, QuarryApiMixin, check_content_length
from labeling.models import Sample
from labeling.services.exports import FORMATS, export_filename, export_stream
from labeling.services.label_import import KINDS, LabelImportError, labels_import_csv


class ExportQuerySerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=list(FORMATS), default="csv")
    split = serializers.ChoiceField(choices=Sample.Split.choices, required=False)
    labeled_only = serializers.BooleanField(default=False)


class _NoFormatOverride(DefaultContentNegotiation):
    """``?format=`` names the export here, not a DRF renderer."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class ProjectExportView(QuarryApiMixin, APIView):
    """Download the project's labels (owners and engineers), streamed.

    ``csv`` and ``jsonl``: one row per sample with file name, sha256, label, annotators,
    agreement, the latest model's prediction and confidence. ``coco``: COCO-style
    classification JSON. ``imagefolder``: a zip of ``<class>/<file>`` for labeled samples.
    """

    content_negotiation_class = _NoFormatOverride

    @extend_schema(
        parameters=[
            OpenApiParameter("kind", str, enum=list(FORMATS), default="csv"),
            OpenApiParameter(
                "format", str, enum=list(FORMATS), required=False, description="alias of kind"
            ),
            OpenApiParameter("split", str, enum=list(Sample.Split.values), required=False),
            OpenApiParameter("labeled_only", bool, default=False),
        ],
        responses={
            (200, media.split(";")[0]): OpenApiResponse(
                OpenApiTypes.OBJECT if kind == "coco" else OpenApiTypes.BINARY,
                description=f"The export as {kind}",
            )
            for kind, (media, _) in FORMATS.items()
        },
    )
    def get(self, request, pk):
        project = project_for(request.user, pk, roles=MANAGERS, action="export labels")
        params = request.query_params.copy()
        if "kind" not in params and "format" in params:
            params["kind"] = params["format"]  # the project page's links use ?format=
        query = ExportQuerySerializer(data=params)
        query.is_valid(raise_exception=True)
        kind = query.validated_data["kind"]
        stream = export_stream(
            project=project,
            kind=kind,
            split=query.validated_data.get("split"),
            labeled_only=query.validated_data["labeled_only"],
        )
        response = StreamingHttpResponse(stream, content_type=FORMATS[kind][0])
        filename = export_filename(project=project, kind=kind)
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        response["X-Content-Type-Options"] = "nosniff"
        response["Cache-Control"] = "no-store"
        return response


class LabelImportSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="CSV with a header row; see docs/api.md")
    kind = serializers.ChoiceField(
        choices=KINDS,
        default="labels",
        help_text="labels: your annotations; oracle: hidden ground truth; predictions: a model",
    )


class ProjectLabelImportView(QuarryApiMixin, APIView):
    """Import labels, oracle labels or predictions from CSV; all rows or none."""

    parser_classes = [MultiPartParser]

    @extend_schema(
        request={"multipart/form-data": LabelImportSerializer},
        responses={201: ImportReport, 400: ImportReport},
    )
    def post(self, request, pk):
        project = project_for(request.user, pk, roles=MANAGERS, action="import labels")
        check_content_length(request, settings.QUARRY_MAX_UPLOAD_BYTES, "upload")
        serializer = LabelImportSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        kind = serializer.validated_data["kind"]
        try:
            report = labels_import_csv(
                project=project,
                user=request.user,
                source=serializer.validated_data["file"],
                kind=kind,
            )
        except LabelImportError as exc:
            return Response(
                {"detail": str(exc), "report": exc.report.to_dict()},
                status=status.HTTP_400_BAD_REQUEST,
            )
        detail = f"imported {report.rows} row(s) as {kind}"
        return Response(
            {"detail": detail, "report": report.to_dict()}, status=status.HTTP_201_CREATED
        )
