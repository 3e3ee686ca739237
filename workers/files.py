"""Where the loop's files live under MEDIA_ROOT, and writing them atomically.

Rows store paths relative to MEDIA_ROOT:

- ``encoders/<project>/job-<job>/checkpoint.pt``  resumable pretraining state
- ``encoders/<project>/job-<job>/encoder.pt``     the finished encoder (EncoderVersion.checkpoint)
- ``encoders/<project>/job-<job>/embeddings/``    ``part-NNNNN.npy`` + ``part-NNNNN.ids.npy``
- ``models/<project>/job-<job>/``                 head, committee, pool probabilities
- ``heatmaps/<project>/model-<version>/<sample>.png``
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
from django.conf import settings


def media_root() -> Path:
    return Path(settings.MEDIA_ROOT)


def absolute(relative: str) -> Path:
    return media_root() / relative


def relative(path: Path) -> str:
    return path.relative_to(media_root()).as_posix()


def encoder_dir(project_id: int, job_id: int) -> Path:
    path = media_root() / "encoders" / str(project_id) / f"job-{job_id}"
    path.mkdir(parents=True, exist_ok=True)
    return path


def model_dir(project_id: int, job_id: int) -> Path:
    path = media_root() / "models" / str(project_id) / f"job-{job_id}"
    path.mkdir(parents=True, exist_ok=True)
    return path


def heatmap_dir(project_id: int, model_version_id: int) -> Path:
    path = media_root() / "heatmaps" / str(project_id) / f"model-{model_version_id}"
    path.mkdir(parents=True, exist_ok=True)
    return path


def npy_save(path: Path, array: np.ndarray) -> None:
    """Write an array to ``path`` atomically (temporary file in the same folder, rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            np.save(handle, np.ascontiguousarray(array))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def earlier_checkpoint(path: Path, settings_key: str) -> dict | None:
    """``{"settings": ..., "epoch": ...}`` of a training checkpoint an earlier attempt left at
    ``path`` (its settings stored under ``settings_key``), or None. An unreadable one is removed,
    so the run starts afresh instead of failing on every attempt."""
    if not path.exists():
        return None
    import pickle

    from ssl_pretrain.checkpoint import load_checkpoint

    try:
        state = load_checkpoint(path)
    except (ValueError, OSError, RuntimeError, EOFError, pickle.UnpicklingError):
        path.unlink(missing_ok=True)
        return None
    return {"settings": state.get(settings_key) or {}, "epoch": int(state.get("epoch", 0))}
