"""Who may see a project page: members only (others get 404), managers for the console."""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest
from django.shortcuts import get_object_or_404

from labeling.models import Membership, Project
from labeling.selectors.projects import MANAGER_ROLES, membership_role

# Hotkeys for class buttons: 1-9, 0, then letters that no command uses
# (S skip, U undo, H heatmap are reserved).
HOTKEYS = list("1234567890") + list("qwertyiopadfgjklzxcvbnm")


@dataclass(frozen=True)
class ProjectAccess:
    project: Project
    role: str

    @property
    def can_manage(self) -> bool:
        return self.role in MANAGER_ROLES

    @property
    def is_owner(self) -> bool:
        return self.role == Membership.Role.OWNER


def project_access(request: HttpRequest, project_id: int, *, manage: bool = False) -> ProjectAccess:
    """The project and the user's role; 404 to non-members, 403 to annotators on manager pages."""
    project = get_object_or_404(Project, pk=project_id)
    role = membership_role(project=project, user=request.user)
    if role is None:
        raise Http404("No such project.")
    access = ProjectAccess(project=project, role=role)
    if manage and not access.can_manage:
        raise PermissionDenied("Only the project's owners and ML engineers may open this page.")
    return access


def class_buttons(project: Project) -> list[dict]:
    """Class index, name and hotkey (None past the last key) for the label and grid views."""
    return [
        {"index": i, "name": name, "key": HOTKEYS[i] if i < len(HOTKEYS) else None}
        for i, name in enumerate(project.classes)
    ]


def can_create_projects(user) -> bool:
    return bool(user.is_staff or user.has_perm("labeling.add_project"))
