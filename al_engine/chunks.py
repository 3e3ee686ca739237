"""Row-chunked evaluation: bounded temporaries for any pool size."""

from __future__ import annotations

from collections.abc import Callable

import torch

__all__ = ["CHUNK_ROWS", "map_rows", "safe_log", "xlogx"]

CHUNK_ROWS = 1 << 16


def map_rows(
    fn: Callable[..., torch.Tensor], *tensors: torch.Tensor, axis: int = 0, chunk: int = CHUNK_ROWS
) -> torch.Tensor:
    """Apply ``fn`` to row chunks of ``tensors`` (split along ``axis``), concatenating the outputs."""
    n = tensors[0].shape[axis]
    if n <= chunk:
        return fn(*tensors)
    parts = [
        fn(*(t.narrow(axis, start, min(chunk, n - start)) for t in tensors))
        for start in range(0, n, chunk)
    ]
    return torch.cat(parts)


def xlogx(p: torch.Tensor) -> torch.Tensor:
    """``p * log(p)`` with ``0 log 0 = 0``."""
    return torch.special.xlogy(p, p)


def safe_log(p: torch.Tensor) -> torch.Tensor:
    """``log(p)`` with zeros mapped to the log of the dtype's smallest normal (so ``0 * log 0 = 0``)."""
    return torch.log(p.clamp_min(torch.finfo(p.dtype).tiny))
