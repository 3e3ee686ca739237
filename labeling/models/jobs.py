"""Background jobs: one row per unit of work done by a Celery worker.

The row, not the broker message, is the truth: a job is run by whoever holds its
lease, and a redelivered message for a job someone else holds does nothing.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from labeling.models.projects import Project


class Job(models.Model):
    class Kind(models.TextChoices):
        PRETRAIN = "pretrain", "Self-supervised pretraining"
        EMBED = "embed", "Embed samples"
        TRAIN = "train", "Train classifier"
        SCORE = "score", "Score pool"
        SELECT = "select", "Select batch"
        EVALUATE = "evaluate", "Evaluate"
        ROUND = "round", "Retrain round"
        SIMULATE = "simulate", "Simulate strategies"
        GRADCAM = "gradcam", "Heatmaps for queued samples"
        IMPORT = "import", "Import images"

    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    ACTIVE_STATES = (State.QUEUED, State.RUNNING)
    # Jobs that train or rewrite the project's models hold the project's training lock.
    TRAINING_KINDS = (Kind.PRETRAIN, Kind.EMBED, Kind.TRAIN, Kind.ROUND)

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="jobs")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    state = models.CharField(max_length=16, choices=State.choices, default=State.QUEUED)
    params = models.JSONField(default=dict, blank=True)
    result = models.JSONField(default=dict, blank=True)
    # "training" for TRAINING_KINDS; the partial unique constraint below makes the
    # database refuse a second active training job in one project.
    lock = models.CharField(max_length=16, null=True, blank=True)  # noqa: DJ001 (NULL = no lock)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="children"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    attempts = models.PositiveIntegerField(default=0)
    max_attempts = models.PositiveIntegerField(default=3)
    lease_owner = models.CharField(max_length=128, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    progress = models.FloatField(default=0.0)
    message = models.CharField(max_length=500, blank=True)
    error = models.TextField(blank=True)
    cancel_requested = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "lock"],
                condition=Q(state__in=["queued", "running"]) & Q(lock__isnull=False),
                name="job_one_active_lock_per_project",
            )
        ]
        indexes = [
            models.Index(fields=["project", "state"], name="job_project_state"),
            models.Index(fields=["state", "lease_expires_at"], name="job_lease"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} job {self.pk} ({self.state})"

    @property
    def duration_seconds(self) -> float | None:
        if self.started_at is None:
            return None
        end = self.finished_at
        if end is None:
            from django.utils import timezone

            end = timezone.now()
        return (end - self.started_at).total_seconds()
