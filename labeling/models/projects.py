"""Projects, who belongs to them, and how their active-learning loop is configured."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Project(models.Model):
    class Task(models.TextChoices):
        CLASSIFICATION = "classification", "Single-label classification"

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        DONE = "done", "Done"

    name = models.CharField(max_length=200, unique=True)
    # Ordered class names; annotations and predictions store the index into this list,
    # so classes may be appended but never reordered.
    classes = models.JSONField(default=list)
    task = models.CharField(max_length=32, choices=Task.choices, default=Task.CLASSIFICATION)
    label_budget = models.PositiveIntegerField(null=True, blank=True)
    target_accuracy = models.FloatField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    done_reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    class Role(models.TextChoices):
        OWNER = "owner", "Owner"
        ENGINEER = "engineer", "ML engineer"
        ANNOTATOR = "annotator", "Annotator"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "project"], name="membership_unique_user_project"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.project} as {self.role}"


class LoopConfig(models.Model):
    """How the loop runs for one project. Only names and parameters are stored;
    they are validated against ``al_engine.STRATEGIES`` and the ``ssl_pretrain``
    registries by the service that writes them."""

    class Classifier(models.TextChoices):
        LINEAR = "linear", "Linear head on embeddings"
        MLP = "mlp", "MLP head on embeddings"
        FINETUNE = "finetune", "Fine-tune the whole encoder"

    project = models.OneToOneField(Project, on_delete=models.CASCADE, related_name="loop_config")
    strategy = models.CharField(max_length=64, default="hybrid")
    strategy_params = models.JSONField(default=dict, blank=True)
    cold_start_strategy = models.CharField(max_length=64, default="typiclust")
    batch_size = models.PositiveIntegerField(default=20)
    ssl_method = models.CharField(max_length=32, default="simclr")
    ssl_backbone = models.CharField(max_length=32, default="resnet18")
    ssl_epochs = models.PositiveIntegerField(default=20)
    ssl_batch_size = models.PositiveIntegerField(default=256)
    classifier = models.CharField(
        max_length=16, choices=Classifier.choices, default=Classifier.LINEAR
    )
    committee_size = models.PositiveIntegerField(default=5)
    # A retrain round starts after this many new labels; 0 turns the trigger off.
    retrain_every = models.PositiveIntegerField(default=20)
    # How many annotators label each queued sample.
    overlap = models.PositiveIntegerField(default=1)
    reservation_seconds = models.PositiveIntegerField(default=600)
    schedule = models.OneToOneField(
        "django_celery_beat.PeriodicTask",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"loop of {self.project}"
