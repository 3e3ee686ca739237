"""The Celery app. Configuration comes from Django settings (``CELERY_*``); the defaults
below apply where the settings say nothing.

Start a worker with ``celery -A workers worker -Q default,gpu`` and the scheduler with
``celery -A workers beat`` (``-B`` embeds it in a worker, as ``make demo`` does).
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "labeling.settings")

UPKEEP_SECONDS = float(os.environ.get("QUARRY_QUEUE_UPKEEP_SECONDS", "10"))

app = Celery("quarry")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.add_defaults(
    {
        # Long jobs: a worker takes one message at a time and acknowledges it at the end.
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "task_default_queue": "default",
        # The reaper requeues jobs whose worker stopped renewing its lease.
        "beat_schedule": {
            "quarry-reap-jobs": {
                "task": "workers.reap_jobs",
                "schedule": float(os.environ.get("QUARRY_REAP_SECONDS", "60")),
                "options": {"queue": "default", "expires": 300},
            },
            # Lapsed reservations out and, on PostgreSQL, the queue's tables vacuumed:
            # labels leave dead rows at the queue's head that get-next steps over.
            "quarry-queue-upkeep": {
                "task": "workers.queue_upkeep",
                "schedule": UPKEEP_SECONDS,
                "options": {"queue": "default", "expires": UPKEEP_SECONDS},
            },
        },
    }
)
app.autodiscover_tasks(["workers"], related_name="tasks")
