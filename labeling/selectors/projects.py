"""Which projects a user sees, and in which role."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet

from labeling.models import Membership, Project

MANAGER_ROLES = (Membership.Role.OWNER, Membership.Role.ENGINEER)


def project_list_for_user(*, user: AbstractBaseUser) -> QuerySet[Project]:
    if not user.is_authenticated:
        return Project.objects.none()
    return Project.objects.filter(memberships__user=user).distinct().order_by("name")


def membership_role(*, project: Project, user: AbstractBaseUser) -> str | None:
    """The user's role in the project, or None when they do not belong to it."""
    if not user.is_authenticated:
        return None
    return (
        Membership.objects.filter(project=project, user=user).values_list("role", flat=True).first()
    )


def user_can_manage(*, project: Project, user: AbstractBaseUser) -> bool:
    return membership_role(project=project, user=user) in MANAGER_ROLES
