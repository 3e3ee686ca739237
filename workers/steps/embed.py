"""Embeddings of every sample with an encoder, stored in parts next to the encoder.

Incremental: only samples without an embedding are encoded, so samples imported after
pretraining are added by the next embed step (a round runs one first when needed), and
an interrupted embedding continues where it stopped.
"""

from __future__ import annotations

import numpy as np

from labeling.models import EncoderVersion, Sample
from workers import config as knobs
from workers import files
from workers.context import JobError, StepContext
from workers.oom import with_batch_backoff
from workers.pool import embeddings_append, embeddings_read, images_load

CHUNK = 2048  # images decoded and written per part
BATCH_SIZE = 256


def target_encoder(ctx: StepContext) -> EncoderVersion | None:
    if "encoder_version" in ctx.cache:
        return ctx.cache["encoder_version"]
    wanted = ctx.params.get("encoder")
    versions = EncoderVersion.objects.filter(project=ctx.project).exclude(checkpoint="")
    if wanted:
        return versions.filter(pk=wanted).first()
    return versions.order_by("-created_at", "-pk").first()


def missing(project, encoder: EncoderVersion) -> list[tuple[int, str]]:
    """Samples of the project the encoder has not embedded yet, by id."""
    done, _ = embeddings_read(encoder)
    rows = list(Sample.objects.filter(project=project).order_by("pk").values_list("pk", "file"))
    if not len(done):
        return rows
    ids = np.fromiter((pk for pk, _ in rows), np.int64, len(rows))
    keep = ~np.isin(ids, done)
    return [row for row, k in zip(rows, keep, strict=True) if k]


def run(ctx: StepContext, *, required: bool = True) -> EncoderVersion | None:
    import ssl_pretrain

    version = target_encoder(ctx)
    if version is None:
        if required:
            raise JobError(
                "this project has no encoder yet: pretrain first "
                "(python manage.py al_round PROJECT --pretrain)"
            )
        return None
    todo = missing(ctx.project, version)
    if not todo:
        ctx.cache["encoder_version"] = version
        return version
    encoder = ctx.cache.get("encoder")
    device = knobs.device()
    if encoder is None:
        encoder = ssl_pretrain.load_encoder(files.absolute(version.checkpoint), device=device)
    else:
        encoder = encoder.to(device)
    size = int(encoder.image_size)
    batch = {"size": int(ctx.params.get("embed_batch_size", BATCH_SIZE))}
    for start in range(0, len(todo), CHUNK):
        chunk = todo[start : start + CHUNK]
        ctx.progress(start / len(todo), f"embedding {start}/{len(todo)} samples")
        images = images_load([name for _, name in chunk], size)

        def attempt(batch_size: int, images=images) -> np.ndarray:
            batch["size"] = batch_size
            return ssl_pretrain.embed(encoder, images, device=device, batch_size=batch_size)

        X = with_batch_backoff(ctx, "embed", batch["size"], 1, attempt)
        ids = np.fromiter((pk for pk, _ in chunk), np.int64, len(chunk))

        embeddings_append(version, ids, X)
    total, X = embeddings_read(version)
    if len(total) == 0:
        raise JobError("embedding produced no rows")
    EncoderVersion.objects.filter(pk=version.pk).update(
        n_embedded=len(total), embedding_dim=int(X.shape[1])
    )
    version.refresh_from_db()
    ctx.result["embed"] = {"encoder": version.pk, "new": len(todo), "total": len(total)}
    ctx.cache["encoder_version"] = version
    ctx.cache["embedded"] = (total, X)
    return version
