"""Images in a project's pool or holdout set."""

from __future__ import annotations

from django.db import models

from labeling.models.projects import Project


class Sample(models.Model):
    class Split(models.TextChoices):
        POOL = "pool", "Pool"
        HOLDOUT = "holdout", "Holdout"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="samples")
    # Stored under a name derived from the content hash; never a user-supplied path.
    file = models.FileField(max_length=255)
    sha256 = models.CharField(max_length=64)
    original_name = models.CharField(max_length=255, blank=True)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    split = models.CharField(max_length=8, choices=Split.choices, default=Split.POOL)
    # Hidden ground truth for simulation and evaluation: never shown to annotators,
    # never counted as an annotation.
    oracle_label = models.SmallIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["project", "sha256"], name="sample_unique_project_sha256"
            )
        ]
        indexes = [models.Index(fields=["project", "split"], name="sample_project_split")]

    def __str__(self) -> str:
        return f"sample {self.pk} ({self.original_name or self.sha256[:12]})"
