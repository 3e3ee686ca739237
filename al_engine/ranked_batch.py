"""Ranked batch-mode sampling (Cardoso et al. 2017), the algorithm of modAL's
``uncertainty_batch_sampling``, without its per-pick Python loop over the pool.

https://doi.org/10.1016/j.ins.2016.10.037

Each pick maximizes ``alpha (1 - 1 / (1 + dist)) + (1 - alpha) u`` where ``dist`` is the distance
to the nearest labeled or already picked row, ``u`` the uncertainty and
``alpha = |unpicked pool| / (|unpicked pool| + |labeled| + |picked|)``. The distance vector is
kept as a running minimum, so a pick costs O(n d).
"""

from __future__ import annotations

import numpy as np
import torch

from al_engine.base import Inputs, Strategy
from al_engine.distances import BLOCK_ELEMENTS, min_sq_dist, sq_dist_block, sq_norms
from al_engine.registry import register
from al_engine.uncertainty import UNCERTAINTY

__all__ = ["RankedBatch", "mean_distance"]


def mean_distance(x: torch.Tensor) -> torch.Tensor:
    """Mean Euclidean distance of each row to all rows (blocked, O(n) memory)."""
    n2 = sq_norms(x)
    out = torch.empty(x.shape[0], dtype=x.dtype, device=x.device)
    rows = max(1, BLOCK_ELEMENTS // max(x.shape[0], 1))
    for r0 in range(0, x.shape[0], rows):
        out[r0 : r0 + rows] = (
            sq_dist_block(x[r0 : r0 + rows], n2[r0 : r0 + rows], x, n2).sqrt_().mean(dim=1)
        )
    return out


@register
class RankedBatch(Strategy):
    """Ranked batch-mode active learning (Cardoso et al. 2017)."""

    name = "ranked_batch"
    description = (
        "modAL's uncertainty_batch_sampling: each pick trades uncertainty against distance to the "
        "labeled and already picked rows, the balance shifting as the pool empties."
    )
    needs = frozenset({"probs", "embeddings"})
    params = {
        "uncertainty": {
            "type": "choice",
            "default": "least_confident",
            "choices": sorted(UNCERTAINTY),
            "help": "Uncertainty measure (modAL uses least confident).",
        }
    }

    def _select_pool(self, k: int, inputs: Inputs, rng: np.random.Generator):
        u_all = UNCERTAINTY[self.uncertainty](inputs.probs)
        good = torch.isfinite(u_all)
        if inputs.bad_rows is not None:
            good &= ~inputs.bad_rows
        pool_rows = torch.nonzero(inputs.pool & good).squeeze(1)
        lab_rows = torch.nonzero(inputs.labeled & good).squeeze(1)
        x = inputs.embeddings[pool_rows].to(torch.float64)
        u = u_all[pool_rows].to(torch.float64).cpu().numpy()
        n_pool = x.shape[0]
        picks: list[int] = []
        scores: list[float] = []
        n_lab = int(lab_rows.shape[0])
        mind = np.full(n_pool, np.inf)
        if n_pool and n_lab:
            d2 = min_sq_dist(x, inputs.embeddings[lab_rows].to(torch.float64))[0]
            mind = d2.sqrt().cpu().numpy()
        elif n_pool:  # cold start: the row with the least mean distance to the pool
            first = int(torch.argmin(mean_distance(x)))
            picks.append(first)
            scores.append(float(u[first]))
            n_lab = 1
        x_n2 = (x * x).sum(dim=1).cpu().numpy()
        taken = np.zeros(n_pool, dtype=bool)
        if picks:
            mind = self._update(mind, x, x_n2, picks[0])
            taken[picks[0]] = True
        while len(picks) < min(k, n_pool):
            n_unl = n_pool - len(picks)
            alpha = n_unl / (n_unl + n_lab)
            score = alpha * (1.0 - 1.0 / (1.0 + mind)) + (1.0 - alpha) * u
            score[taken] = -np.inf
            j = int(np.argmax(score))
            picks.append(j)
            scores.append(float(score[j]))
            taken[j] = True
            n_lab += 1
            mind = self._update(mind, x, x_n2, j)
        idx = pool_rows.cpu().numpy()[np.asarray(picks, dtype=np.int64)]
        out_scores = np.asarray(scores, dtype=np.float64)
        if idx.shape[0] < k:
            rest = torch.nonzero(inputs.pool & ~good).squeeze(1).cpu().numpy()[: k - idx.shape[0]]
            idx = np.concatenate([idx, rest])
            out_scores = np.concatenate([out_scores, np.full(rest.shape[0], -np.inf)])
        return idx, out_scores

    @staticmethod
    def _update(mind: np.ndarray, x: torch.Tensor, x_n2: np.ndarray, j: int) -> np.ndarray:
        # torch's matrix-vector product follows torch's thread setting (numpy's BLAS pool
        # spins on a busy CPU); the O(n) rest stays in numpy
        d2 = x_n2 + x_n2[j] - 2.0 * torch.mv(x, x[j]).cpu().numpy()
        return np.minimum(mind, np.sqrt(np.maximum(d2, 0.0)))
