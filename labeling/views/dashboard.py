"""The engineer's dashboard and its server-rendered SVG plots."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from labeling.selectors import dashboard as sel
from labeling.selectors.agreement import project_agreement
from labeling.selectors.progress import project_progress
from labeling.services import plots
from labeling.services.queue import queue_blocked_reason
from labeling.views.access import project_access

PLOTS = ("learning-curve", "distribution", "confusion")


@login_required
@require_GET
def dashboard(request: HttpRequest, project_id: int) -> HttpResponse:
    access = project_access(request, project_id, manage=True)
    project = access.project
    model = sel.current_model(project=project)
    curve = sel.learning_curve(project=project)
    return render(
        request,
        "labeling/dashboard.html",
        {
            "access": access,
            "project": project,
            "progress": project_progress(project=project),
            "blocked": queue_blocked_reason(project=project),
            "queue_size": sel.queue_size(project=project),
            "model": model,
            "curve": curve,
            "simulated": sorted(sel.simulated_curves(project=project)),
            "throughput": sel.throughput(project=project),
            "agreement": project_agreement(project=project),
            "plots": PLOTS,
        },
    )


@login_required
@require_GET
def plot(request: HttpRequest, project_id: int, name: str) -> HttpResponse:
    access = project_access(request, project_id, manage=True)
    project = access.project
    if name == "learning-curve":
        svg = plots.learning_curve_svg(
            sel.learning_curve(project=project), sel.simulated_curves(project=project)
        )
    elif name == "distribution":
        svg = plots.distribution_svg(sel.label_distribution(project=project))
    elif name == "confusion":
        svg = plots.confusion_svg(sel.latest_confusion(project=project), list(project.classes))
    else:
        raise Http404("No such plot.")
    response = HttpResponse(svg, content_type="image/svg+xml")
    response["Cache-Control"] = "private, no-cache"
    response["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    return response
