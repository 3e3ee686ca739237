"""What the loop produces: encoders, classifiers, pool scores, learning curves, simulations.

Large arrays (checkpoints, embeddings, probabilities) live in files under the media
directory named by these rows; the rows hold what is queried and sorted.
"""

from __future__ import annotations

from django.db import models

from labeling.models.projects import Project
from labeling.models.samples import Sample


class EncoderVersion(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="encoders")
    job = models.ForeignKey(
        "labeling.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    method = models.CharField(max_length=32)
    backbone = models.CharField(max_length=32)
    params = models.JSONField(default=dict, blank=True)
    # Paths relative to MEDIA_ROOT.
    checkpoint = models.CharField(max_length=255, blank=True)
    embeddings_dir = models.CharField(max_length=255, blank=True)
    embedding_dim = models.PositiveIntegerField(null=True, blank=True)
    n_embedded = models.PositiveIntegerField(default=0)
    metrics = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"encoder {self.pk} ({self.method}/{self.backbone})"


class ModelVersion(models.Model):
    # ``kind`` of the versions that hold predictions imported from a CSV (no classifier).
    IMPORTED = "imported"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="model_versions")
    encoder = models.ForeignKey(
        EncoderVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="models"
    )
    job = models.ForeignKey(
        "labeling.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    kind = models.CharField(max_length=16)
    params = models.JSONField(default=dict, blank=True)
    n_labels = models.PositiveIntegerField()
    checkpoint = models.CharField(max_length=255, blank=True)
    # Holdout metrics: accuracy, macro_f1, per_class_recall, confusion matrix.
    metrics = models.JSONField(default=dict, blank=True)
    holdout_accuracy = models.FloatField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"model {self.pk} ({self.kind}, {self.n_labels} labels)"


class Prediction(models.Model):
    """One model version's output for one sample; ``score`` is the ranking column."""

    model_version = models.ForeignKey(
        ModelVersion, on_delete=models.CASCADE, related_name="predictions"
    )
    sample = models.ForeignKey(Sample, on_delete=models.CASCADE, related_name="predictions")
    predicted_label = models.SmallIntegerField()
    confidence = models.FloatField()
    score = models.FloatField(null=True, blank=True)
    # Grad-CAM overlay (PNG, relative to MEDIA_ROOT), written by a worker task.
    heatmap = models.CharField(max_length=255, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["model_version", "sample"], name="prediction_unique_model_sample"
            )
        ]
        indexes = [
            models.Index(fields=["model_version", "-score"], name="prediction_rank"),
            models.Index(fields=["sample", "model_version"], name="prediction_by_sample"),
        ]

    def __str__(self) -> str:
        return f"model {self.model_version_id} predicts {self.predicted_label} for {self.sample_id}"


class LearningCurvePoint(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="curve_points")
    model_version = models.OneToOneField(
        ModelVersion, null=True, blank=True, on_delete=models.CASCADE, related_name="curve_point"
    )
    n_labels = models.PositiveIntegerField()
    accuracy = models.FloatField()
    macro_f1 = models.FloatField()
    per_class_recall = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["n_labels", "created_at"]

    def __str__(self) -> str:
        return f"{self.accuracy:.3f} accuracy at {self.n_labels} labels"


class SimulationRun(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="simulations")
    job = models.ForeignKey(
        "labeling.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    params = models.JSONField(default=dict, blank=True)
    # Curves per strategy: label counts, mean and std accuracy, labels to reach target.
    result = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"simulation {self.pk} of {self.project_id}"
