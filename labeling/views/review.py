"""The review queue: samples annotators disagree on, adjudicated by owners and engineers."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from labeling.selectors.agreement import project_agreement, review_queue
from labeling.selectors.queue_items import latest_predictions
from labeling.services.review import adjudication_set
from labeling.views.access import class_buttons, project_access
from labeling.views.forms import AdjudicateForm


@login_required
@require_GET
def review(request: HttpRequest, project_id: int) -> HttpResponse:
    access = project_access(request, project_id, manage=True)
    project = access.project
    items = review_queue(project=project)
    predictions = latest_predictions(sample_ids=[i["sample_id"] for i in items])
    for item in items:
        item["image"] = reverse("ui:sample-image", args=[project.pk, item["sample_id"]])
        prediction = predictions.get(item["sample_id"])
        if prediction is not None and 0 <= prediction.predicted_label < len(project.classes):
            item["model"] = (project.classes[prediction.predicted_label], prediction.confidence)
    return render(
        request,
        "labeling/review.html",
        {
            "access": access,
            "project": project,
            "items": items,
            "buttons": class_buttons(project),
            "agreement": project_agreement(project=project),
        },
    )


@login_required
@require_POST
def adjudicate(request: HttpRequest, project_id: int) -> HttpResponse:
    access = project_access(request, project_id, manage=True)
    form = AdjudicateForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a sample and a class.")
        return redirect("ui:review", project_id)
    try:
        adjudication_set(
            project=access.project,
            user=request.user,
            sample_id=form.cleaned_data["sample_id"],
            label=form.cleaned_data["label"],
            note=form.cleaned_data["note"],
        )
    except ValidationError as exc:
        messages.error(request, "; ".join(exc.messages))
    else:
        name = access.project.classes[form.cleaned_data["label"]]
        messages.success(request, f"Sample {form.cleaned_data['sample_id']} is now “{name}”.")
    return redirect("ui:review", project_id)
