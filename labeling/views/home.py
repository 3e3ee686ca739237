"""The landing page: the projects a user belongs to, with their progress."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from labeling.selectors.progress import project_progress
from labeling.selectors.projects import project_list_for_user


@login_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    projects = project_list_for_user(user=request.user)
    rows = [(project, project_progress(project=project)) for project in projects]
    return render(request, "labeling/home.html", {"rows": rows})


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok", "database": connection.vendor})
