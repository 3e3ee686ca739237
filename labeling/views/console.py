"""The ML engineer's console: import images, configure the loop, start and follow jobs."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from rest_framework.exceptions import APIException

from labeling.api.base import check_content_length
from labeling.models import Job, LoopConfig
from labeling.selectors.dashboard import job_rows
from labeling.services.jobs import JobConflictError, job_cancel
from labeling.views.access import project_access
from labeling.views.config_form import config_context, config_data_from_post
from labeling.views.forms import ImportForm, SimulationForm


def _error_text(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        if hasattr(exc, "error_dict"):
            return "; ".join(
                f"{field}: {' '.join(errs)}" for field, errs in exc.message_dict.items()
            )
        return "; ".join(exc.messages)
    return str(exc)


@login_required
@require_http_methods(["GET", "POST"])
def import_images(request: HttpRequest, project_id: int) -> HttpResponse:
    access = project_access(request, project_id, manage=True)
    status, refused = 200, None
    try:  # the API's cap on uploads holds here too, before any of it is imported
        check_content_length(request, settings.QUARRY_MAX_UPLOAD_BYTES, "upload")
    except APIException as exc:
        status, refused = exc.status_code, f"Import refused: {exc.detail}"
        form = ImportForm()
    else:
        form = ImportForm(request.POST or None, request.FILES or None)
    report = None
    if request.method == "POST" and form.is_valid():
        server_path = form.cleaned_data["server_path"].strip()
        if server_path and not request.user.is_staff:
            form.add_error(None, "Only administrators may import from a server folder.")
        else:
            try:
                from labeling.services.imports import dataset_import
            except ImportError:
                form.add_error(None, "The import service is not installed in this build.")
            else:
                try:
                    result = dataset_import(
                        project=access.project,
                        path=server_path or form.cleaned_data["archive"],
                        labels_as=form.cleaned_data["labels_as"],
                        holdout=form.cleaned_data["holdout"],
                        seed=form.cleaned_data["seed"],
                    )
                except (ValidationError, ValueError, OSError) as exc:
                    form.add_error(None, f"Import failed: {_error_text(exc)}")
                else:
                    report = {
                        "imported": result.imported,
                        "holdout": result.holdout,
                        "duplicates": list(result.duplicates),
                        "rejected": [tuple(row) for row in result.rejected],
                        "classes_added": list(getattr(result, "classes_added", [])),
                        "ignored": list(getattr(result, "ignored", [])),
                    }
    return render(
        request,
        "labeling/import.html",
        {
            "access": access,
            "project": access.project,
            "form": form,
            "report": report,
            "refused": refused,
        },
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
def configure(request: HttpRequest, project_id: int) -> HttpResponse:
    access = project_access(request, project_id, manage=True)
    project = access.project
    errors: list[str] = []
    posted = None
    if request.method == "POST":
        posted = request.POST
        try:
            from labeling.services.loop_config import loop_config_update

            config = LoopConfig.objects.get_or_create(project=project)[0]
            data = config_data_from_post(request.POST, config=config)
            loop_config_update(project=project, user=request.user, data=data)
        except (ValidationError, ValueError, ImportError) as exc:
            errors.append(_error_text(exc))
        else:
            messages.success(request, "Configuration saved.")
            return redirect("ui:configure", project.pk)
    config = LoopConfig.objects.get_or_create(project=project)[0]
    project.refresh_from_db()
    context = config_context(project=project, config=config, posted=posted)
    context.update({"access": access, "project": project, "errors": errors})
    return render(request, "labeling/configure.html", context)


def _strategy_names() -> list[str]:
    try:
        import al_engine
    except ImportError:
        return ["random"]
    return sorted(al_engine.STRATEGIES)


@login_required
@require_http_methods(["GET"])
def jobs(request: HttpRequest, project_id: int) -> HttpResponse:
    access = project_access(request, project_id, manage=True)
    names = _strategy_names()
    form = SimulationForm(
        strategy_names=names,
        initial={"strategies": [n for n in ("random", "entropy", "hybrid") if n in names]},
    )
    return render(
        request,
        "labeling/jobs.html",
        {
            "access": access,
            "project": access.project,
            "rows": job_rows(project=access.project),
            "simulation_form": form,
        },
    )


@login_required
@require_GET
def jobs_json(request: HttpRequest, project_id: int) -> JsonResponse:
    access = project_access(request, project_id, manage=True)
    return JsonResponse({"jobs": job_rows(project=access.project)})


@login_required
@require_POST
def job_start(request: HttpRequest, project_id: int, kind: str) -> HttpResponse:
    access = project_access(request, project_id, manage=True)
    project = access.project
    try:
        from labeling.services import loop
    except ImportError:
        messages.error(request, "The training loop is not installed in this build.")
        return redirect("ui:jobs", project.pk)
    try:
        if kind == "pretrain":
            job = loop.pretrain_request(project=project, user=request.user)
        elif kind == "round":
            job = loop.round_request(project=project, user=request.user)
        elif kind == "simulate":
            form = SimulationForm(request.POST, strategy_names=_strategy_names())
            if not form.is_valid():
                messages.error(request, f"Simulation not started: {form.errors.as_text()}")
                return redirect("ui:jobs", project.pk)
            job = loop.simulation_request(
                project=project,
                user=request.user,
                strategies=form.cleaned_data["strategies"],
                budget=form.cleaned_data["budget"],
                seeds=form.cleaned_data["seeds"],
            )
        else:
            messages.error(request, f"Unknown job kind “{kind}”.")
            return redirect("ui:jobs", project.pk)
    except (ValidationError, ValueError, JobConflictError) as exc:
        messages.error(request, f"Not started: {_error_text(exc)}")
    else:
        messages.success(request, f"{job.get_kind_display()} job {job.pk} queued.")
    return redirect("ui:jobs", project.pk)


@login_required
@require_POST
def job_cancel_view(request: HttpRequest, project_id: int, job_id: int) -> HttpResponse:
    access = project_access(request, project_id, manage=True)
    job = get_object_or_404(Job, pk=job_id, project=access.project)
    job = job_cancel(job=job)
    messages.info(request, f"Job {job.pk}: {job.get_state_display().lower()}.")
    return redirect("ui:jobs", access.project.pk)
