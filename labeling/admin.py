"""Admin pages: a window onto every row, for owners and operators."""

from django.contrib import admin

from labeling import models


@admin.register(models.Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ("name", "status", "label_budget", "target_accuracy", "created_at")
    search_fields = ("name",)


@admin.register(models.Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "project", "role")
    list_filter = ("role", "project")


@admin.register(models.LoopConfig)
class LoopConfigAdmin(admin.ModelAdmin):
    list_display = ("project", "strategy", "batch_size", "retrain_every", "classifier")


@admin.register(models.Sample)
class SampleAdmin(admin.ModelAdmin):
    list_display = ("id", "project", "original_name", "split", "width", "height", "created_at")
    list_filter = ("project", "split")
    search_fields = ("sha256", "original_name")
    readonly_fields = ("sha256", "file", "width", "height")


@admin.register(models.Annotation)
class AnnotationAdmin(admin.ModelAdmin):
    list_display = ("sample", "annotator", "label", "created_at", "time_spent_ms")
    list_filter = ("sample__project",)
    raw_id_fields = ("sample",)


@admin.register(models.Adjudication)
class AdjudicationAdmin(admin.ModelAdmin):
    list_display = ("sample", "label", "adjudicator", "created_at")
    raw_id_fields = ("sample",)


@admin.register(models.QueueItem)
class QueueItemAdmin(admin.ModelAdmin):
    list_display = ("project", "position", "sample", "state", "score", "n_annotations")
    list_filter = ("project", "state")
    raw_id_fields = ("sample", "batch")


@admin.register(models.Job)
class JobAdmin(admin.ModelAdmin):
    list_display = ("id", "project", "kind", "state", "progress", "attempts", "created_at")
    list_filter = ("state", "kind", "project")
    readonly_fields = ("created_at", "started_at", "finished_at", "heartbeat_at")


for model in (
    models.QueryBatch,
    models.EncoderVersion,
    models.ModelVersion,
    models.LearningCurvePoint,
    models.SimulationRun,
):
    admin.site.register(model)
