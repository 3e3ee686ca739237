"""Embeddings: the encoder in eval mode over a pool, batched, memory flat in the pool size."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from .augment import to_float
from .data import as_uint8_tensor, resize_pool
from .precision import autocast, resolve_precision


def _input_size(encoder: nn.Module, pool: torch.Tensor) -> int:
    size = getattr(encoder, "image_size", None)
    return int(size) if size else int(pool.shape[1])


@torch.no_grad()
def embed(
    encoder: nn.Module,
    images: Any,
    *,
    device: str | torch.device = "cpu",
    batch_size: int = 256,
    out: str | os.PathLike[str] | None = None,
    precision: str = "auto",
) -> np.ndarray:
    """Features ``float32 [n, d]`` for uint8 ``[n, H, W, 3]`` images (resized to the encoder's
    size if needed). Deterministic: eval mode, no augmentation. With ``out`` the rows stream into
    a ``.npy`` memmap at that path, which is returned. ``precision`` as in
    :mod:`ssl_pretrain.precision` (bf16 autocast where the device has it natively)."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    pool = as_uint8_tensor(images)
    device = torch.device(device)
    precision = resolve_precision(precision, device)
    was_training = encoder.training
    encoder.eval()
    size = _input_size(encoder, pool)
    result: np.ndarray | None = None
    try:
        for start in range(0, pool.shape[0], batch_size):
            chunk = resize_pool(pool[start : start + batch_size], size)
            x = to_float(chunk.to(device, non_blocking=True))
            x = x.contiguous(memory_format=torch.channels_last)
            with autocast(precision, device):
                feats = encoder(x)
            rows = feats.float().cpu().numpy()
            if result is None:
                shape = (pool.shape[0], rows.shape[1])
                if out is not None:
                    Path(out).parent.mkdir(parents=True, exist_ok=True)
                    result = np.lib.format.open_memmap(
                        out, mode="w+", dtype=np.float32, shape=shape
                    )
                else:
                    result = np.empty(shape, dtype=np.float32)
            result[start : start + rows.shape[0]] = rows
    finally:
        encoder.train(was_training)
    assert result is not None
    if isinstance(result, np.memmap):
        result.flush()
    return result
