"""Routes of the labeling queue under /api/v1/projects/<id>/queue/."""

from django.urls import path

from labeling.api import queue

urlpatterns = [
    path("projects/<int:project_id>/queue/next/", queue.QueueNextApi.as_view(), name="queue-next"),
    path(
        "projects/<int:project_id>/queue/submit/",
        queue.QueueSubmitApi.as_view(),
        name="queue-submit",
    ),
    path("projects/<int:project_id>/queue/skip/", queue.QueueSkipApi.as_view(), name="queue-skip"),
    path(
        "projects/<int:project_id>/queue/release/",
        queue.QueueReleaseApi.as_view(),
        name="queue-release",
    ),
    path("projects/<int:project_id>/queue/undo/", queue.QueueUndoApi.as_view(), name="queue-undo"),
]
