"""The Celery app. Configuration comes from Django settings (``CELERY_*``); the defaults
below apply where the settings say nothing.

Start a worker with ``celery -A workers worker -Q default,gpu`` and the scheduler with
``celery -A workers beat`` (``-B`` embeds it in a worker, as ``make demo`` does).
"""

import logging
import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "labeling.settings")

# Every second: each label leaves a dead reservation and a dead open-items entry, and
# get-next pays for what has piled up since the last vacuum (bench/label_cpu.py: 0.7 ms of
# PostgreSQL CPU per label with 1 s, 0.87 with 2 s, 1.2 with 10 s). With nothing to do, a
# run over a queue of 100,000 items took 2.6 ms of PostgreSQL CPU and 1.2 ms in Python.
UPKEEP_SECONDS = float(os.environ.get("QUARRY_QUEUE_UPKEEP_SECONDS", "1"))

UPKEEP_TASK = "workers.queue_upkeep"


class QuietUpkeep(logging.Filter):
    """Drops the routine lines about the queue's upkeep (sent, received, succeeded: three
    a second at ``-l info``); its warnings and errors still show."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno > logging.INFO or UPKEEP_TASK not in record.getMessage()


# where beat and the worker log each task they send, receive and finish
for _name in ("celery.beat", "celery.worker.strategy", "celery.app.trace"):
    logging.getLogger(_name).addFilter(QuietUpkeep())

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
                "task": UPKEEP_TASK,
                "schedule": UPKEEP_SECONDS,
                "options": {"queue": "default", "expires": UPKEEP_SECONDS},
            },
        },
    }
)
app.autodiscover_tasks(["workers"], related_name="tasks")
