"""The Celery app. Configuration comes from Django settings (``CELERY_*``).

Start a worker with ``celery -A workers worker -Q default,gpu``.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "labeling.settings")

app = Celery("quarry")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["workers"], related_name="tasks")
