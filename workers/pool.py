"""Rows to arrays: images, embeddings and labels of a project, aligned by sample id."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from django.core.files.storage import default_storage
from PIL import Image

from labeling.models import Annotation, EncoderVersion, Project, QueueItem, Sample
from labeling.selectors.labels import effective_labels
from workers import files


def image_size_for(project: Project, backbone: str, override: int | None = None) -> int:
    """The encoder's input size: the typical image's longer side, snapped up to a standard
    size (``ssl_pretrain.backbones.input_size``). ``override`` wins when given."""
    from ssl_pretrain.backbones import input_size

    if override:
        return int(override)
    sides = Counter(
        max(w, h) for w, h in Sample.objects.filter(project=project).values_list("width", "height")
    )
    if not sides:
        raise ValueError(f"project {project.name!r} has no images yet: import some first")
    return input_size(sides.most_common(1)[0][0], backbone)


def images_load(names: Sequence[str], size: int) -> np.ndarray:
    """Decode stored sample files to ``uint8 [n, size, size, 3]`` RGB."""
    out = np.empty((len(names), size, size, 3), dtype=np.uint8)
    for i, name in enumerate(names):
        with default_storage.open(name, "rb") as handle, Image.open(handle) as image:
            image = image.convert("RGB")
            if image.size != (size, size):
                image = image.resize((size, size), Image.Resampling.BILINEAR)
            out[i] = np.asarray(image)
    return out


def encoder_current(project: Project) -> EncoderVersion | None:
    """The newest encoder that has embeddings."""
    return (
        EncoderVersion.objects.filter(project=project, n_embedded__gt=0)
        .exclude(embeddings_dir="")
        .order_by("-created_at", "-pk")
        .first()
    )


def embeddings_read(encoder: EncoderVersion) -> tuple[np.ndarray, np.ndarray]:
    """All embeddings of an encoder: ``(sample ids int64 [n], float32 [n, d])``, by id."""
    folder = files.absolute(encoder.embeddings_dir)
    id_parts, x_parts = [], []
    for ids_path in sorted(folder.glob("part-*.ids.npy")):
        id_parts.append(np.load(ids_path))
        x_parts.append(np.load(ids_path.with_name(ids_path.name.replace(".ids.npy", ".npy"))))
    if not id_parts:
        return np.empty(0, dtype=np.int64), np.empty((0, encoder.embedding_dim or 0), np.float32)
    ids = np.concatenate(id_parts).astype(np.int64)
    X = np.concatenate(x_parts).astype(np.float32, copy=False)
    order = np.argsort(ids, kind="stable")
    return ids[order], X[order]


def embeddings_append(encoder: EncoderVersion, ids: np.ndarray, X: np.ndarray) -> None:
    """Add a part to the encoder's embeddings folder (embeddings first, then their ids:
    a part counts only once its ids file exists)."""
    folder = files.absolute(encoder.embeddings_dir)
    folder.mkdir(parents=True, exist_ok=True)
    number = len(list(folder.glob("part-*.ids.npy")))
    files.npy_save(folder / f"part-{number:05d}.npy", X.astype(np.float32, copy=False))
    files.npy_save(folder / f"part-{number:05d}.ids.npy", ids.astype(np.int64, copy=False))


@dataclass
class PoolArrays:
    """A project's embedded samples as arrays. ``labels`` is -1 where a sample has no
    effective label; ``taken`` marks pool rows a strategy must not pick (labeled,
    annotated or queued)."""

    ids: np.ndarray  # int64 [n] pool sample ids, ascending
    X: np.ndarray  # float32 [n, d]
    labels: np.ndarray  # int64 [n]
    annotated: np.ndarray  # bool [n] at least one annotation (a tie has no effective label)
    taken: np.ndarray  # bool [n]
    holdout_X: np.ndarray  # float32 [h, d]
    holdout_y: np.ndarray  # int64 [h]
    n_classes: int

    @property
    def labeled(self) -> np.ndarray:
        return self.labels >= 0


def pool_arrays(
    project: Project, encoder: EncoderVersion | None = None, embedded=None
) -> PoolArrays:
    """Embeddings and labels of the pool, and of the holdout samples with a known label
    (an effective label, else the hidden oracle label)."""
    encoder = encoder or encoder_current(project)
    if encoder is None:
        raise ValueError("no embeddings yet")
    ids, X = embedded if embedded is not None else embeddings_read(encoder)
    split = dict(Sample.objects.filter(project=project).values_list("pk", "split"))
    oracle = dict(
        Sample.objects.filter(project=project, split=Sample.Split.HOLDOUT)
        .exclude(oracle_label=None)
        .values_list("pk", "oracle_label")
    )
    effective = effective_labels(project=project)
    is_pool = np.fromiter((split.get(int(i)) == Sample.Split.POOL for i in ids), bool, len(ids))
    is_holdout = np.fromiter(
        (split.get(int(i)) == Sample.Split.HOLDOUT for i in ids), bool, len(ids)
    )
    pool_ids = ids[is_pool]
    labels = np.fromiter((effective.get(int(i), -1) for i in pool_ids), np.int64, len(pool_ids))
    queued = set(QueueItem.objects.filter(project=project).values_list("sample_id", flat=True))
    noted = set(
        Annotation.objects.filter(sample__project=project).values_list("sample_id", flat=True)
    )
    annotated = np.fromiter((int(i) in noted for i in pool_ids), bool, len(pool_ids))
    in_queue = np.fromiter((int(i) in queued for i in pool_ids), bool, len(pool_ids))
    taken = (labels >= 0) | annotated | in_queue
    holdout_ids = ids[is_holdout]
    holdout_y = np.fromiter(
        (effective.get(int(i), oracle.get(int(i), -1)) for i in holdout_ids),
        np.int64,
        len(holdout_ids),
    )
    known = holdout_y >= 0
    return PoolArrays(
        ids=pool_ids,
        X=X[is_pool],
        labels=labels,
        annotated=annotated | (labels >= 0),
        taken=taken,
        holdout_X=X[is_holdout][known],
        holdout_y=holdout_y[known],
        n_classes=len(project.classes),
    )
