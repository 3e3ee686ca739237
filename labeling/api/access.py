"""Who may touch what, project by project.

Objects of a project the user does not belong to do not exist for them (404, for
every method). Members whose role does not allow an action get 403 with the reason.
"""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404
from rest_framework.exceptions import PermissionDenied

from labeling.models import Membership, Project
from labeling.selectors import sql

MANAGERS = (Membership.Role.OWNER, Membership.Role.ENGINEER)
OWNERS = (Membership.Role.OWNER,)


def member_project_ids(user) -> QuerySet:
    """Ids of the projects the user belongs to, as a subquery."""
    if not user.is_authenticated:
        return Project.objects.none().values("pk")
    return Membership.objects.filter(user=user).values("project_id")


def managed_project_ids(user) -> QuerySet:
    if not user.is_authenticated:
        return Project.objects.none().values("pk")
    return Membership.objects.filter(user=user, role__in=MANAGERS).values("project_id")


def role_in(project_id: int, user) -> str | None:
    if not user.is_authenticated:
        return None
    return (
        Membership.objects.filter(project_id=project_id, user=user)
        .values_list("role", flat=True)
        .first()
    )


def parse_id(value) -> int:
    """A path id as an int; anything else is a 404 like a missing object."""
    try:
        number = int(str(value))
    except (TypeError, ValueError) as exc:
        raise Http404("no such object") from exc
    if not sql.is_key(number):
        raise Http404("no such object")
    return number


def project_for(user, project_id, *, roles=None, action: str = "do this") -> Project:
    """The project if the user is a member (404 otherwise); 403 when the role is not enough."""
    project = Project.objects.filter(
        pk=parse_id(project_id), pk__in=member_project_ids(user)
    ).first()
    if project is None:
        raise Http404("no such project")
    if roles is not None:
        require_role(project, user, roles, action)
    return project


def require_role(project: Project, user, roles, action: str) -> str:
    role = role_in(project.pk, user)
    if role is None:
        raise Http404("no such project")
    if role not in roles:
        allowed = " or ".join(str(r) for r in roles)
        raise PermissionDenied(f"only a project {allowed} may {action}; you are {role}")
    return role
