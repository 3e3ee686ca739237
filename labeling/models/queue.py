"""The labeling queue: batches chosen by a strategy, items in rank order, reservations."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from labeling.models.projects import Project
from labeling.models.samples import Sample


class QueryBatch(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="query_batches")
    model_version = models.ForeignKey(
        "labeling.ModelVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    job = models.ForeignKey(
        "labeling.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    strategy = models.CharField(max_length=64)
    params = models.JSONField(default=dict, blank=True)
    size = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"batch {self.pk} of {self.size} by {self.strategy}"


class QueueItem(models.Model):
    class State(models.TextChoices):
        OPEN = "open", "Open"
        DONE = "done", "Done"

    # Indexed by ``queue_unique_position`` (project, position). Every label rewrites its
    # item's index entries (its state is indexed), so the queue keeps no index it can spare.
    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, related_name="queue_items", db_index=False
    )
    # A sample is queued at most once, ever: strategies never select it twice.
    sample = models.OneToOneField(Sample, on_delete=models.CASCADE, related_name="queue_item")
    batch = models.ForeignKey(
        QueryBatch, null=True, blank=True, on_delete=models.SET_NULL, related_name="items"
    )
    # Global order within the project: batches append after what is queued.
    position = models.BigIntegerField()
    score = models.FloatField(null=True, blank=True)
    state = models.CharField(max_length=8, choices=State.choices, default=State.OPEN)
    n_annotations = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            # Get-next walks this one: done items leave it. Through the position constraint
            # (or the (project, state, position) index there was), PostgreSQL, whose
            # statistics miss that the done items are exactly the head of the queue,
            # stepped over every done item per call.
            models.Index(
                fields=["project", "position"],
                condition=models.Q(state="open"),
                name="queue_open",
            ),
        ]
        constraints = [
            models.UniqueConstraint(fields=["project", "position"], name="queue_unique_position")
        ]

    def __str__(self) -> str:
        return f"queue item {self.position} (sample {self.sample_id}, {self.state})"


class Reservation(models.Model):
    """A queue item handed to one annotator until ``expires_at``."""

    # Each label deletes one reservation and get-next inserts one: the two keys are indexed
    # by the indexes below (item first, user first) and no more.
    item = models.ForeignKey(
        QueueItem, on_delete=models.CASCADE, related_name="reservations", db_index=False
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="reservations",
        db_index=False,
    )
    expires_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["item", "user"], name="reservation_unique_item_user")
        ]
        indexes = [
            models.Index(fields=["item", "expires_at"], name="reservation_active"),
            models.Index(fields=["user", "expires_at"], name="reservation_by_user"),
        ]

    def __str__(self) -> str:
        return f"item {self.item_id} reserved by {self.user_id} until {self.expires_at}"


class Skip(models.Model):
    """An annotator skipped an item; it is not handed to them again."""

    item = models.ForeignKey(QueueItem, on_delete=models.CASCADE, related_name="skips")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["item", "user"], name="skip_unique_item_user")
        ]

    def __str__(self) -> str:
        return f"item {self.item_id} skipped by {self.user_id}"
