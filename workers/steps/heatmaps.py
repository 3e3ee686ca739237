"""Grad-CAM heat maps for queued samples -> PNG overlays named by ``Prediction.heatmap``.

The map explains the model's predicted class; it is stored as an RGBA image the size of
the sample (a colour map whose opacity follows the heat), drawn over the image by the UI.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from labeling.models import ModelVersion, Prediction, QueueItem
from workers import config as knobs
from workers import files
from workers.context import JobError, StepContext
from workers.oom import with_batch_backoff
from workers.pool import images_load

MAX_SAMPLES = 500
BATCH_SIZE = 64


def overlay(heat: np.ndarray, size: tuple[int, int]) -> Image.Image:
    """An RGBA image of ``size`` (width, height): jet colours, opacity up to 60 % with the heat."""
    from matplotlib import colormaps

    rgba = colormaps["jet"](np.clip(heat, 0.0, 1.0))
    rgba[..., 3] = 0.6 * np.clip(heat, 0.0, 1.0)
    image = Image.fromarray((rgba * 255).astype(np.uint8), mode="RGBA")
    return image.resize(size, Image.Resampling.BILINEAR) if image.size != size else image


def run(ctx: StepContext) -> int:
    import ssl_pretrain
    from al_engine import heads

    version = (
        ModelVersion.objects.filter(pk=ctx.params.get("model_version"), project=ctx.project)
        .select_related("encoder")
        .first()
    )
    if version is None:
        raise JobError("the model version to explain no longer exists")
    # A fine-tuned model explains itself with its own encoder.
    checkpoint = version.params.get("encoder_checkpoint") or (
        version.encoder.checkpoint if version.encoder is not None else ""
    )
    if not checkpoint:
        ctx.note("this model has no encoder checkpoint: no heat maps")
        return 0
    wanted = ctx.params.get("sample_ids")
    predictions = Prediction.objects.filter(model_version=version, heatmap="")
    if wanted:
        predictions = predictions.filter(sample_id__in=wanted)
    else:
        open_ids = QueueItem.objects.filter(project=ctx.project, state=QueueItem.State.OPEN).values(
            "sample_id"
        )
        predictions = predictions.filter(sample_id__in=open_ids)
    rows = list(predictions.select_related("sample").order_by("-score", "pk")[:MAX_SAMPLES])
    if not rows:
        return 0
    device = knobs.device()
    encoder = ssl_pretrain.load_encoder(files.absolute(checkpoint), device=device)
    head = heads.load(files.absolute(version.checkpoint)).module().to(device)
    images = images_load([p.sample.file.name for p in rows], int(encoder.image_size))
    classes = np.array([p.predicted_label for p in rows], dtype=np.int64)
    ctx.progress(0.1, f"heat maps for {len(rows)} samples", force=True)
    maps = with_batch_backoff(
        ctx,
        "gradcam",
        BATCH_SIZE,
        1,
        lambda bs: ssl_pretrain.gradcam(
            encoder, head, images, classes, device=device, batch_size=bs
        ),
    )
    folder = files.heatmap_dir(ctx.project.pk, version.pk)
    for i, prediction in enumerate(rows):
        sample = prediction.sample
        path = folder / f"{sample.pk}.png"
        overlay(maps[i], (sample.width, sample.height)).save(path, format="PNG")
        prediction.heatmap = files.relative(path)
        if i % 50 == 0:
            ctx.progress(0.1 + 0.9 * i / len(rows), f"saved {i} heat maps")
    Prediction.objects.bulk_update(rows, ["heatmap"], batch_size=500)
    ctx.result["heatmaps"] = {"model_version": version.pk, "written": len(rows)}
    return len(rows)
