"""Routes of the labeling queue under /api/v1/projects/<id>/queue/."""

from django.urls import path

from labeling.api import queue
from labeling.api.queue_direct import direct

urlpatterns = [
    path(
        "projects/<int:project_id>/queue/next/",
        direct(queue.QueueNextApi.as_view(), queue.next_plain, queue.next_answer),
        name="queue-next",
    ),
    path(
        "projects/<int:project_id>/queue/submit/",
        direct(queue.QueueSubmitApi.as_view(), queue.submit_plain, queue.submit_answer),
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
