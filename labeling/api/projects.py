"""Projects, their loop configuration and progress, and the loop's option lists."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import transaction
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from labeling.api.access import MANAGERS, member_project_ids, project_for, role_in
from labeling.api.base import QuarryApiMixin
from labeling.models import LoopConfig, Membership, Project
from labeling.selectors.progress import project_progress
from labeling.services.loop_config import (
    LOOP_FIELDS,
    loop_config_get,
    loop_config_update,
    project_update,
)
from labeling.services.projects import project_create


class LoopConfigSerializer(serializers.ModelSerializer):
    label_budget = serializers.IntegerField(
        source="project.label_budget", allow_null=True, required=False
    )
    target_accuracy = serializers.FloatField(
        source="project.target_accuracy", allow_null=True, required=False
    )
    schedule = serializers.SerializerMethodField()

    class Meta:
        model = LoopConfig
        fields = [
            "strategy",
            "strategy_params",
            "cold_start_strategy",
            "batch_size",
            "ssl_method",
            "ssl_backbone",
            "ssl_epochs",
            "ssl_batch_size",
            "classifier",
            "committee_size",
            "retrain_every",
            "overlap",
            "reservation_seconds",
            "label_budget",
            "target_accuracy",
            "schedule",
            "updated_at",
        ]
        read_only_fields = fields

    def get_schedule(self, config) -> dict | None:
        task = config.schedule
        if task is None:
            return None
        if task.crontab_id:
            c = task.crontab
            cron = f"{c.minute} {c.hour} {c.day_of_month} {c.month_of_year} {c.day_of_week}"
            return {"cron": cron, "enabled": task.enabled}
        if task.interval_id:
            minutes = task.interval.every
            if task.interval.period == "hours":
                minutes *= 60
            return {"every_minutes": minutes, "enabled": task.enabled}
        return {"enabled": task.enabled}


class LoopConfigUpdateSerializer(serializers.Serializer):
    """Any subset of the loop settings; validated by the loop configuration service."""

    strategy = serializers.CharField(required=False)
    strategy_params = serializers.DictField(required=False)
    cold_start_strategy = serializers.CharField(required=False)
    batch_size = serializers.IntegerField(required=False)
    ssl_method = serializers.CharField(required=False)
    ssl_backbone = serializers.CharField(required=False)
    ssl_epochs = serializers.IntegerField(required=False)
    ssl_batch_size = serializers.IntegerField(required=False)
    classifier = serializers.ChoiceField(choices=LoopConfig.Classifier.choices, required=False)
    committee_size = serializers.IntegerField(required=False)
    retrain_every = serializers.IntegerField(required=False)
    overlap = serializers.IntegerField(required=False)
    reservation_seconds = serializers.IntegerField(required=False)
    label_budget = serializers.IntegerField(required=False, allow_null=True)
    target_accuracy = serializers.FloatField(required=False, allow_null=True)
    schedule = serializers.JSONField(
        required=False,
        allow_null=True,
        help_text='{"cron": "0 3 * * *"} or {"every_minutes": 60}; null clears it',
    )


class ProjectSerializer(serializers.ModelSerializer):
    role = serializers.SerializerMethodField()
    classes = serializers.ListField(
        child=serializers.CharField(max_length=100, trim_whitespace=True), max_length=1000
    )

    class Meta:
        model = Project
        fields = [
            "id",
            "name",
            "classes",
            "task",
            "label_budget",
            "target_accuracy",
            "status",
            "done_reason",
            "created_at",
            "role",
        ]
        read_only_fields = ["id", "task", "status", "done_reason", "created_at", "role"]

    def get_role(self, project) -> str | None:
        roles = self.context.get("roles")
        if roles is not None:
            return roles.get(project.pk)
        return role_in(project.pk, self.context["request"].user)


class ProjectCreateSerializer(ProjectSerializer):
    name = serializers.CharField(max_length=200)
    label_budget = serializers.IntegerField(min_value=1, required=False, allow_null=True)
    target_accuracy = serializers.FloatField(required=False, allow_null=True)

    class Meta(ProjectSerializer.Meta):
        extra_kwargs = {"classes": {"required": False}}


class ProjectUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False)
    classes = serializers.ListField(
        child=serializers.CharField(max_length=100), max_length=1000, required=False
    )
    status = serializers.ChoiceField(choices=Project.Status.choices, required=False)
    label_budget = serializers.IntegerField(required=False, allow_null=True)
    target_accuracy = serializers.FloatField(required=False, allow_null=True)
    loop = LoopConfigUpdateSerializer(required=False)


class ProjectFilter(filters.FilterSet):
    status = filters.ChoiceFilter(choices=Project.Status.choices)

    class Meta:
        model = Project
        fields = ["status"]


ProgressSerializer = inline_serializer(
    "Progress",
    {
        "samples": serializers.IntegerField(),
        "labeled": serializers.IntegerField(),
        "queued": serializers.IntegerField(),
        "budget": serializers.IntegerField(allow_null=True),
        "budget_fraction": serializers.FloatField(allow_null=True),
    },
)


class ProjectViewSet(
    QuarryApiMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Projects you belong to. Anyone signed in may create one and becomes its owner."""

    serializer_class = ProjectSerializer
    filterset_class = ProjectFilter

    def get_queryset(self):
        return Project.objects.filter(pk__in=member_project_ids(self.request.user)).order_by(
            "name", "pk"
        )

    def get_object(self):
        return project_for(self.request.user, self.kwargs["pk"])

    def get_serializer_class(self):
        if self.action == "create":
            return ProjectCreateSerializer
        return ProjectSerializer

    def create(self, request, *args, **kwargs):
        serializer = ProjectCreateSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        project = project_create(
            name=data["name"],
            classes=data.get("classes", []),
            owner=request.user,
            label_budget=data.get("label_budget"),
            target_accuracy=data.get("target_accuracy"),
        )
        body = ProjectSerializer(project, context={"request": request}).data
        return Response(body, status=status.HTTP_201_CREATED)

    @extend_schema(request=ProjectUpdateSerializer, responses=ProjectSerializer)
    def update(self, request, *args, **kwargs):
        project = project_for(
            request.user, kwargs["pk"], roles=MANAGERS, action="change the project"
        )
        serializer = ProjectUpdateSerializer(data=request.data, partial=kwargs.get("partial"))
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        loop = dict(data.pop("loop", None) or {})
        for field in ("label_budget", "target_accuracy"):
            if field in data:
                loop[field] = data.pop(field)
        try:
            with transaction.atomic():
                if data:
                    project = project_update(project=project, user=request.user, data=data)
                if loop:
                    loop_config_update(project=project, user=request.user, data=loop)
        except DjangoPermissionDenied as exc:
            raise PermissionDenied(str(exc)) from exc
        project.refresh_from_db()
        return Response(ProjectSerializer(project, context={"request": request}).data)

    @extend_schema(request=ProjectUpdateSerializer, responses=ProjectSerializer)
    def partial_update(self, request, *args, **kwargs):
        kwargs["partial"] = True
        return self.update(request, *args, **kwargs)

    @extend_schema(
        methods=["GET"], request=None, responses=LoopConfigSerializer, summary="Loop settings"
    )
    @extend_schema(
        methods=["PATCH"],
        request=LoopConfigUpdateSerializer,
        responses=LoopConfigSerializer,
        summary="Change loop settings (owners and engineers)",
    )
    @action(detail=True, methods=["get", "patch"], url_path="loop", filterset_class=None)
    def loop(self, request, pk=None):
        if request.method == "GET":
            project = project_for(request.user, pk)
            return Response(LoopConfigSerializer(loop_config_get(project=project)).data)
        project = project_for(request.user, pk, roles=MANAGERS, action="change the loop settings")
        serializer = LoopConfigUpdateSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        data = {k: v for k, v in serializer.validated_data.items() if k in LOOP_FIELDS}
        try:
            config = loop_config_update(project=project, user=request.user, data=data)
        except DjangoPermissionDenied as exc:
            raise PermissionDenied(str(exc)) from exc
        return Response(LoopConfigSerializer(config).data)

    @extend_schema(request=None, responses=ProgressSerializer)
    @action(detail=True, methods=["get"], filterset_class=None)
    def progress(self, request, pk=None):
        project = project_for(request.user, pk)
        progress = project_progress(project=project)
        return Response(
            {
                "samples": progress.samples,
                "labeled": progress.labeled,
                "queued": progress.queued,
                "budget": progress.budget,
                "budget_fraction": progress.budget_fraction,
            }
        )

    def list(self, request, *args, **kwargs):
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        roles = dict(
            Membership.objects.filter(user=request.user, project__in=page).values_list(
                "project_id", "role"
            )
        )
        data = ProjectSerializer(page, many=True, context={"request": request, "roles": roles})
        return self.get_paginated_response(data.data)


class LoopOptionsView(QuarryApiMixin, APIView):
    """What a loop may be configured with: strategies and their parameters, SSL choices."""

    @extend_schema(
        responses=inline_serializer(
            "LoopOptions",
            {
                "strategies": serializers.DictField(child=serializers.JSONField()),
                "ssl_methods": serializers.ListField(child=serializers.CharField()),
                "ssl_backbones": serializers.ListField(child=serializers.CharField()),
                "classifiers": serializers.ListField(child=serializers.CharField()),
            },
        )
    )
    def get(self, request):
        import al_engine
        import ssl_pretrain

        strategies = {
            name: {
                "description": info.description,
                "needs": sorted(info.needs),
                "cold_start": info.cold_start,
                "params": info.params,
            }
            for name, info in sorted(al_engine.STRATEGIES.items())
        }
        return Response(
            {
                "strategies": strategies,
                "ssl_methods": sorted(ssl_pretrain.METHODS),
                "ssl_backbones": sorted(ssl_pretrain.BACKBONES),
                "classifiers": list(LoopConfig.Classifier.values),
            }
        )
