"""Who belongs to a project. Members see the list; owners add, change and remove members."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.http import Http404
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.response import Response

from labeling.api.access import OWNERS, member_project_ids, parse_id, project_for, require_role
from labeling.api.base import QuarryApiMixin
from labeling.models import Membership
from labeling.services.loop_config import membership_remove, membership_role_change
from labeling.services.projects import membership_set


class MembershipSerializer(serializers.ModelSerializer):
    username = serializers.CharField(source="user.username", read_only=True)

    class Meta:
        model = Membership
        fields = ["id", "project", "username", "role", "created_at"]
        read_only_fields = fields


class MembershipCreateSerializer(serializers.Serializer):
    project = serializers.IntegerField(min_value=1)
    username = serializers.CharField(max_length=150)
    role = serializers.ChoiceField(choices=Membership.Role.choices)


class MembershipRoleSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=Membership.Role.choices)


class MembershipFilter(filters.FilterSet):
    project = filters.NumberFilter(field_name="project_id")
    role = filters.ChoiceFilter(choices=Membership.Role.choices)

    class Meta:
        model = Membership
        fields = ["project", "role"]


class MembershipViewSet(
    QuarryApiMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = MembershipSerializer
    filterset_class = MembershipFilter

    def get_queryset(self):
        return (
            Membership.objects.filter(project_id__in=member_project_ids(self.request.user))
            .select_related("user")
            .order_by("project_id", "user__username", "pk")
        )

    def get_object(self):
        membership = self.get_queryset().filter(pk=parse_id(self.kwargs["pk"])).first()
        if membership is None:
            raise Http404("no such membership")
        return membership

    @extend_schema(request=MembershipCreateSerializer, responses={201: MembershipSerializer})
    def create(self, request, *args, **kwargs):
        serializer = MembershipCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        project = project_for(request.user, data["project"], roles=OWNERS, action="add members")
        user = get_user_model().objects.filter(username=data["username"], is_active=True).first()
        if user is None:
            raise ValidationError({"username": ["no active user with this name"]})
        if Membership.objects.filter(project=project, user=user).exists():
            raise ValidationError({"username": ["already a member; change the role instead"]})
        membership = membership_set(project=project, user=user, role=data["role"])
        return Response(MembershipSerializer(membership).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=MembershipRoleSerializer, responses=MembershipSerializer)
    def update(self, request, *args, **kwargs):
        membership = self.get_object()
        require_role(membership.project, request.user, OWNERS, "change roles")
        serializer = MembershipRoleSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        membership = membership_role_change(
            membership=membership, role=serializer.validated_data["role"]
        )
        return Response(MembershipSerializer(membership).data)

    @extend_schema(request=MembershipRoleSerializer, responses=MembershipSerializer)
    def partial_update(self, request, *args, **kwargs):
        return self.update(request, *args, **kwargs)

    def destroy(self, request, *args, **kwargs):
        membership = self.get_object()
        require_role(membership.project, request.user, OWNERS, "remove members")
        membership_remove(membership=membership, user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
