"""The annotator's pages: the label view, grid mode, and the images they show."""

from __future__ import annotations

import mimetypes

from django.contrib.auth.decorators import login_required
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_GET

from labeling.models import Prediction, Sample
from labeling.selectors.progress import project_progress
from labeling.services.thumbnails import THUMB_SIZE, thumbnail
from labeling.views.access import class_buttons, project_access

IMAGE_TYPES = {"image/png", "image/jpeg", "image/webp", "image/gif", "image/bmp"}


def _client_config(project, user, *, mode: str, prefetch: int) -> dict:
    api = {
        name: reverse(f"api:queue-{name}", args=[project.pk])
        for name in ("next", "submit", "skip", "release", "undo")
    }
    return {
        "mode": mode,
        "project": project.pk,
        "user": user.pk,
        "classes": [b["name"] for b in class_buttons(project)],
        "hotkeys": [b["key"] for b in class_buttons(project)],
        "prefetch": prefetch,
        "api": api,
        "label_url": reverse("ui:label", args=[project.pk]),
        "grid_url": reverse("ui:grid", args=[project.pk]),
    }


def _labeling_page(request: HttpRequest, project_id: int, *, mode: str) -> HttpResponse:
    access = project_access(request, project_id)
    project = access.project
    prefetch = 24 if mode == "grid" else 5
    return render(
        request,
        f"labeling/{mode}.html",
        {
            "access": access,
            "project": project,
            "buttons": class_buttons(project),
            "progress": project_progress(project=project),
            "config": _client_config(project, request.user, mode=mode, prefetch=prefetch),
        },
    )


@login_required
@require_GET
def label(request: HttpRequest, project_id: int) -> HttpResponse:
    return _labeling_page(request, project_id, mode="label")


@login_required
@require_GET
def grid(request: HttpRequest, project_id: int) -> HttpResponse:
    return _labeling_page(request, project_id, mode="grid")


def _file_response(name: str) -> FileResponse:
    if not name or not default_storage.exists(name):
        raise Http404("The image file is missing.")
    content_type = mimetypes.guess_type(name)[0]
    if content_type not in IMAGE_TYPES:
        content_type = "application/octet-stream"
    response = FileResponse(default_storage.open(name, "rb"), content_type=content_type)
    response["Cache-Control"] = "private, max-age=86400"
    response["Content-Security-Policy"] = "default-src 'none'"
    return response


@login_required
@require_GET
def sample_image(request: HttpRequest, project_id: int, sample_id: int) -> FileResponse:
    """The sample's image; ``?thumb=1`` gives a thumbnail (at most 256 px) for grid mode."""
    access = project_access(request, project_id)
    sample = get_object_or_404(
        Sample.objects.only("file", "sha256", "width", "height"),
        pk=sample_id,
        project=access.project,
    )
    if request.GET.get("thumb") and max(sample.width, sample.height) > THUMB_SIZE:
        return _file_response(thumbnail(sample))
    return _file_response(sample.file.name)


@login_required
@require_GET
def heatmap(request: HttpRequest, project_id: int, prediction_id: int) -> FileResponse:
    access = project_access(request, project_id)
    prediction = get_object_or_404(
        Prediction.objects.only("heatmap"), pk=prediction_id, sample__project=access.project
    )
    return _file_response(prediction.heatmap)
