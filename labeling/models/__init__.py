"""Quarry's data model, one module per concept."""

from labeling.models.annotations import Adjudication, Annotation
from labeling.models.jobs import Job
from labeling.models.ml import (
    EncoderVersion,
    LearningCurvePoint,
    ModelVersion,
    Prediction,
    SimulationRun,
)
from labeling.models.projects import LoopConfig, Membership, Project
from labeling.models.queue import QueryBatch, QueueItem, Reservation, Skip
from labeling.models.samples import Sample

__all__ = [
    "Adjudication",
    "Annotation",
    "EncoderVersion",
    "Job",
    "LearningCurvePoint",
    "LoopConfig",
    "Membership",
    "ModelVersion",
    "Prediction",
    "Project",
    "QueryBatch",
    "QueueItem",
    "Reservation",
    "Sample",
    "SimulationRun",
    "Skip",
]
