"""Tiny image projects for the worker tests: three classes a small CNN tells apart."""

from __future__ import annotations

import hashlib
import io

import numpy as np
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from PIL import Image

from labeling.models import LoopConfig, Project, Sample

CLASSES = ["red stripes", "green columns", "blue checks"]


def class_image(label: int, rng: np.random.Generator, size: int = 16) -> np.ndarray:
    """A distinct colour and pattern per class, with noise so every image differs."""
    grid = np.indices((size, size))
    pattern = [grid[0] % 4 < 2, grid[1] % 4 < 2, (grid[0] // 4 + grid[1] // 4) % 2 == 0][label]
    image = rng.integers(0, 60, (size, size, 3))
    image[..., label] += 120 + 70 * pattern
    return np.clip(image, 0, 255).astype(np.uint8)


def png(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def make_project(
    name: str = "tiny",
    *,
    per_class: int = 20,
    holdout_per_class: int = 5,
    size: int = 16,
    seed: int = 0,
    **loop,
) -> Project:
    """``per_class`` images of each class (the first ``holdout_per_class`` in the holdout
    split), oracle labels set, and a loop configured for cnn_small on the CPU."""
    project = Project.objects.create(name=name, classes=list(CLASSES))
    defaults = {
        "ssl_method": "simclr",
        "ssl_backbone": "cnn_small",
        "ssl_epochs": 1,
        "ssl_batch_size": 16,
        "batch_size": 6,
        "retrain_every": 0,
        "committee_size": 3,
        "strategy": "entropy",
    }
    LoopConfig.objects.create(project=project, **{**defaults, **loop})
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(per_class):
        for label in range(len(CLASSES)):
            data = png(class_image(label, rng, size))
            digest = hashlib.sha256(data).hexdigest()
            name_on_disk = default_storage.save(
                f"samples/{project.pk}/{digest}.png", ContentFile(data)
            )
            rows.append(
                Sample(
                    project=project,
                    file=name_on_disk,
                    sha256=digest,
                    original_name=f"{label}-{i}.png",
                    width=size,
                    height=size,
                    split=Sample.Split.HOLDOUT if i < holdout_per_class else Sample.Split.POOL,
                    oracle_label=label,
                )
            )
    Sample.objects.bulk_create(rows)
    return project
