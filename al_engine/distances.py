"""Blocked Euclidean distances: running minima over centers without an ``n x n`` matrix."""

from __future__ import annotations

import torch

__all__ = ["BLOCK_ELEMENTS", "min_sq_dist", "sq_dist_block", "sq_norms"]

BLOCK_ELEMENTS = 1 << 24  # at most 16M distances (64 MiB in float32) alive at once


def sq_norms(x: torch.Tensor) -> torch.Tensor:
    """Squared row norms."""
    return (x * x).sum(dim=1)


def sq_dist_block(
    x: torch.Tensor, x_n2: torch.Tensor, c: torch.Tensor, c_n2: torch.Tensor
) -> torch.Tensor:
    """Squared distances ``[len(x), len(c)]`` by ``|x|^2 + |c|^2 - 2 x.c`` (clamped at 0)."""
    d = torch.addmm(x_n2[:, None], x, c.T, beta=1.0, alpha=-2.0)
    return d.add_(c_n2[None, :]).clamp_min_(0.0)


def min_sq_dist(
    x: torch.Tensor, c: torch.Tensor, x_n2: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Squared distance from each row of ``x`` to its nearest row of ``c``, and that row's index.

    Memory stays at ``BLOCK_ELEMENTS`` distances whatever the sizes (rows and centers in blocks).
    """
    n, m = x.shape[0], c.shape[0]
    if x_n2 is None:
        x_n2 = sq_norms(x)
    best = torch.full((n,), float("inf"), dtype=x.dtype, device=x.device)
    arg = torch.zeros(n, dtype=torch.int64, device=x.device)
    if m == 0:
        return best, arg
    c_n2 = sq_norms(c)
    cols = max(1, min(m, 4096))
    rows = max(1, min(n, BLOCK_ELEMENTS // cols))
    for c0 in range(0, m, cols):
        cb, cb_n2 = c[c0 : c0 + cols], c_n2[c0 : c0 + cols]
        for r0 in range(0, n, rows):
            d = sq_dist_block(x[r0 : r0 + rows], x_n2[r0 : r0 + rows], cb, cb_n2)
            val, idx = d.min(dim=1)
            better = val < best[r0 : r0 + rows]
            best[r0 : r0 + rows] = torch.where(better, val, best[r0 : r0 + rows])
            arg[r0 : r0 + rows] = torch.where(better, idx + c0, arg[r0 : r0 + rows])
    return best, arg
