"""Labels given by annotators, and the adjudicated label where they disagree."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from labeling.models.samples import Sample


class Annotation(models.Model):
    # Indexed first by ``annotation_unique_sample_annotator`` and ``annotation_by_time``:
    # every label inserts into each index the table has.
    sample = models.ForeignKey(
        Sample, on_delete=models.CASCADE, related_name="annotations", db_index=False
    )
    annotator = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="annotations",
        db_index=False,
    )
    label = models.SmallIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    time_spent_ms = models.PositiveIntegerField(default=0)
    # Sent by the client with each submission so a retried request is applied once.
    idempotency_key = models.CharField(max_length=64, null=True, blank=True, unique=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["sample", "annotator"], name="annotation_unique_sample_annotator"
            )
        ]
        indexes = [models.Index(fields=["annotator", "created_at"], name="annotation_by_time")]

    def __str__(self) -> str:
        return f"{self.annotator} labeled {self.sample_id} as {self.label}"


class Adjudication(models.Model):
    sample = models.OneToOneField(Sample, on_delete=models.CASCADE, related_name="adjudication")
    label = models.SmallIntegerField()
    adjudicator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="adjudications"
    )
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"sample {self.sample_id} adjudicated as {self.label}"
