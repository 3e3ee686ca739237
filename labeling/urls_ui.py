"""Routes of the browser UI (projects, labeling, console, dashboard, review)."""

from django.urls import path

from labeling.views import console, dashboard, label, projects, review

app_name = "ui"

urlpatterns = [
    path("projects/new/", projects.project_new, name="project-new"),
    path("projects/<int:project_id>/", projects.project_detail, name="project"),
    path("projects/<int:project_id>/members/", projects.member_add, name="member-add"),
    path("projects/<int:project_id>/classes/", projects.classes_add, name="classes-add"),
    path("projects/<int:project_id>/reopen/", projects.project_reopen, name="project-reopen"),
    path("projects/<int:project_id>/label/", label.label, name="label"),
    path("projects/<int:project_id>/grid/", label.grid, name="grid"),
    path(
        "projects/<int:project_id>/samples/<int:sample_id>/image",
        label.sample_image,
        name="sample-image",
    ),
    path(
        "projects/<int:project_id>/heatmaps/<int:prediction_id>.png",
        label.heatmap,
        name="heatmap",
    ),
    path("projects/<int:project_id>/import/", console.import_images, name="import"),
    path("projects/<int:project_id>/configure/", console.configure, name="configure"),
    path("projects/<int:project_id>/jobs/", console.jobs, name="jobs"),
    path("projects/<int:project_id>/jobs.json", console.jobs_json, name="jobs-json"),
    path("projects/<int:project_id>/jobs/start/<slug:kind>/", console.job_start, name="job-start"),
    path(
        "projects/<int:project_id>/jobs/<int:job_id>/cancel/",
        console.job_cancel_view,
        name="job-cancel",
    ),
    path("projects/<int:project_id>/dashboard/", dashboard.dashboard, name="dashboard"),
    path("projects/<int:project_id>/plots/<slug:name>.svg", dashboard.plot, name="plot"),
    path("projects/<int:project_id>/review/", review.review, name="review"),
    path("projects/<int:project_id>/review/adjudicate/", review.adjudicate, name="adjudicate"),
]
