"""Background jobs: start pretraining, a round or a simulation; cancel; read progress."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.http import Http404
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from labeling.api.access import MANAGERS, member_project_ids, parse_id, project_for, require_role
from labeling.api.base import QuarryApiMixin
from labeling.models import Job
from labeling.services.jobs import job_cancel

STARTABLE = ("pretrain", "round", "simulate")


class JobSerializer(serializers.ModelSerializer):
    duration_seconds = serializers.FloatField(read_only=True, allow_null=True)

    class Meta:
        model = Job
        fields = [
            "id",
            "project",
            "kind",
            "state",
            "params",
            "result",
            "parent",
            "progress",
            "message",
            "error",
            "attempts",
            "cancel_requested",
            "created_at",
            "started_at",
            "finished_at",
            "duration_seconds",
        ]
        read_only_fields = fields


class JobStartSerializer(serializers.Serializer):
    project = serializers.IntegerField(min_value=1)
    kind = serializers.ChoiceField(choices=STARTABLE)
    pretrain = serializers.BooleanField(
        default=False, help_text="round: pretrain a new encoder first"
    )
    strategies = serializers.ListField(
        child=serializers.CharField(max_length=64),
        min_length=1,
        max_length=20,
        required=False,
        help_text="simulate: strategy names (random is always added as the baseline)",
    )
    budget = serializers.IntegerField(min_value=1, max_value=1_000_000, required=False)
    seeds = serializers.IntegerField(min_value=1, max_value=50, default=5)


class JobFilter(filters.FilterSet):
    project = filters.NumberFilter(field_name="project_id")
    state = filters.ChoiceFilter(choices=Job.State.choices)
    kind = filters.ChoiceFilter(choices=Job.Kind.choices)

    class Meta:
        model = Job
        fields = ["project", "state", "kind"]


class JobViewSet(
    QuarryApiMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """Jobs of your projects. Owners and engineers start and cancel them."""

    serializer_class = JobSerializer
    filterset_class = JobFilter

    def get_queryset(self):
        return Job.objects.filter(project_id__in=member_project_ids(self.request.user)).order_by(
            "-created_at", "-pk"
        )

    def get_object(self):
        job = self.get_queryset().filter(pk=parse_id(self.kwargs["pk"])).first()
        if job is None:
            raise Http404("no such job")
        return job

    @extend_schema(request=JobStartSerializer, responses={201: JobSerializer})
    def create(self, request, *args, **kwargs):
        from labeling.services import loop

        serializer = JobStartSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        project = project_for(request.user, data["project"], roles=MANAGERS, action="start jobs")
        try:
            if data["kind"] == "pretrain":
                job = loop.pretrain_request(project=project, user=request.user)
            elif data["kind"] == "round":
                job = loop.round_request(
                    project=project, user=request.user, pretrain=data["pretrain"]
                )
            else:
                if "strategies" not in data or "budget" not in data:
                    raise ValidationError(
                        {"strategies": ["a simulation needs strategies and a budget"]}
                    )
                job = loop.simulation_request(
                    project=project,
                    user=request.user,
                    strategies=data["strategies"],
                    budget=data["budget"],
                    seeds=data["seeds"],
                )
        except ValueError as exc:
            raise ValidationError(str(exc)) from exc
        return Response(JobSerializer(job).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=JobSerializer)
    @action(detail=True, methods=["post"], filterset_class=None)
    def cancel(self, request, pk=None):
        job = self.get_object()
        require_role(job.project, request.user, MANAGERS, "cancel jobs")
        return Response(JobSerializer(job_cancel(job=job)).data)
