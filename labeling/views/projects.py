"""Project pages: overview with progress and links, creation, members."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from labeling.models import Membership
from labeling.selectors.dashboard import current_model
from labeling.selectors.progress import project_progress
from labeling.services.projects import membership_set, project_create
from labeling.services.queue import queue_blocked_reason
from labeling.views.access import can_create_projects, project_access
from labeling.views.forms import ClassesAddForm, MemberForm, ProjectCreateForm

EXPORT_FORMATS = [
    ("csv", "CSV"),
    ("jsonl", "JSON Lines"),
    ("imagefolder", "ImageFolder zip"),
    ("coco", "COCO JSON"),
]


def _validation_text(exc: ValidationError) -> str:
    return "; ".join(exc.messages)


@login_required
@require_http_methods(["GET"])
def project_detail(request: HttpRequest, project_id: int) -> HttpResponse:
    access = project_access(request, project_id)
    project = access.project
    progress = project_progress(project=project)
    model = current_model(project=project)
    context = {
        "access": access,
        "project": project,
        "progress": progress,
        "blocked": queue_blocked_reason(project=project),
        "model": model,
        "exports": [
            (label, f"/api/v1/projects/{project.pk}/export/?format={fmt}")
            for fmt, label in EXPORT_FORMATS
        ],
    }
    if access.can_manage:
        context["members"] = (
            Membership.objects.filter(project=project).select_related("user").order_by("role")
        )
        context["member_form"] = MemberForm()
        context["classes_form"] = ClassesAddForm()
    return render(request, "labeling/project.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def project_new(request: HttpRequest) -> HttpResponse:
    if not can_create_projects(request.user):
        raise PermissionDenied("Only administrators may create projects.")
    form = ProjectCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            project = project_create(
                name=form.cleaned_data["name"],
                classes=form.cleaned_data["classes"],
                owner=request.user,
                label_budget=form.cleaned_data["label_budget"],
                target_accuracy=form.cleaned_data["target_accuracy"],
            )
        except ValidationError as exc:
            form.add_error(None, _validation_text(exc))
        else:
            messages.success(request, f"Project “{project.name}” created. Import images next.")
            return redirect("ui:import", project.pk)
    return render(request, "labeling/project_new.html", {"form": form})


@login_required
@require_http_methods(["POST"])
def member_add(request: HttpRequest, project_id: int) -> HttpResponse:
    access = project_access(request, project_id, manage=True)
    if not access.is_owner:
        raise PermissionDenied("Only the project's owners may change who belongs to it.")
    form = MemberForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Give a username and a role.")
        return redirect("ui:project", project_id)
    user = get_user_model().objects.filter(username=form.cleaned_data["username"]).first()
    if user is None:
        messages.error(
            request,
            f"No account named “{form.cleaned_data['username']}”; an administrator "
            "creates accounts (Quarry is invite-only).",
        )
        return redirect("ui:project", project_id)
    try:
        membership_set(project=access.project, user=user, role=form.cleaned_data["role"])
    except ValidationError as exc:
        messages.error(request, _validation_text(exc))
    else:
        messages.success(request, f"{user.get_username()} is now {form.cleaned_data['role']}.")
    return redirect("ui:project", project_id)


@login_required
@require_http_methods(["POST"])
def classes_add(request: HttpRequest, project_id: int) -> HttpResponse:
    """Append class names (existing ones keep their place: labels store the index)."""
    access = project_access(request, project_id, manage=True)
    form = ClassesAddForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Give at least one class name.")
        return redirect("ui:project", project_id)
    from labeling.services.loop_config import project_update

    project = access.project
    try:
        project_update(
            project=project,
            user=request.user,
            data={"classes": [*project.classes, *form.cleaned_data["names"]]},
        )
    except ValidationError as exc:
        messages.error(request, "; ".join(exc.messages))
    else:
        messages.success(request, "Classes added.")
    return redirect("ui:project", project_id)


@login_required
@require_http_methods(["POST"])
def project_reopen(request: HttpRequest, project_id: int) -> HttpResponse:
    """Mark a project that reached its target or budget as active again."""
    access = project_access(request, project_id, manage=True)
    from labeling.services.loop_config import project_update

    project_update(project=access.project, user=request.user, data={"status": "active"})
    messages.success(request, "The project is active again.")
    return redirect("ui:project", project_id)
