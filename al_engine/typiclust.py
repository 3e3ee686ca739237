"""TypiClust: typical rows of the largest uncovered clusters, for cold start (Hacohen et al. 2022).

https://arxiv.org/abs/2202.02794

The labeled and unlabeled rows are clustered into ``min(|L| + k, max_clusters)`` clusters by
k-means; each pick comes from the cluster with the fewest labeled or picked rows (larger first)
and is its most typical free row: typicality = 1 / mean distance to the ``neighbors`` nearest rows
of the same cluster. Clusters above ``max_reference`` rows measure the distances against a seeded
sample of that many of their rows, so the cost stays bounded.
"""

from __future__ import annotations

import numpy as np
import torch

from al_engine.base import Inputs, Strategy
from al_engine.distances import BLOCK_ELEMENTS, sq_dist_block, sq_norms
from al_engine.kmeans import kmeans
from al_engine.registry import register

__all__ = ["TypiClust", "typicality"]


def typicality(x: torch.Tensor, neighbors: int, refs: torch.Tensor | None = None) -> torch.Tensor:
    """``1 / (mean distance to the nearest neighbors + 1e-5)`` of each row among ``x[refs]``."""
    n = x.shape[0]
    ref_idx = torch.arange(n, device=x.device) if refs is None else refs
    r = x[ref_idx]
    kk = max(1, min(neighbors, r.shape[0] - 1)) if r.shape[0] > 1 else 1
    x_n2, r_n2 = sq_norms(x), sq_norms(r)
    out = torch.empty(n, dtype=x.dtype, device=x.device)
    rows = max(1, BLOCK_ELEMENTS // max(r.shape[0], 1))
    for r0 in range(0, n, rows):
        d = sq_dist_block(x[r0 : r0 + rows], x_n2[r0 : r0 + rows], r, r_n2)
        own = torch.arange(r0, min(r0 + rows, n), device=x.device)
        d = d.masked_fill(own[:, None] == ref_idx[None, :], float("inf"))
        near = torch.topk(d, min(kk, d.shape[1]), dim=1, largest=False).values
        near = near.masked_fill(torch.isinf(near), 0.0)
        out[r0 : r0 + rows] = 1.0 / (near.sqrt().mean(dim=1) + 1e-5)
    return out


@register
class TypiClust(Strategy):
    """TypiClust (Hacohen et al. 2022): https://arxiv.org/abs/2202.02794"""

    name = "typiclust"
    description = (
        "Cold start: clusters the embeddings and labels the most typical row of each uncovered "
        "cluster, largest first. Best for the first few hundred labels."
    )
    elementwise = False
    needs = frozenset({"embeddings"})
    cold_start = True
    params = {
        "max_clusters": {
            "type": "int",
            "default": 500,
            "min": 1,
            "max": 10000,
            "help": "Upper bound on the number of k-means clusters (|labeled| + n otherwise).",
        },
        "neighbors": {
            "type": "int",
            "default": 20,
            "min": 1,
            "max": 1000,
            "help": "Nearest neighbors used to measure typicality.",
        },
        "min_cluster_size": {
            "type": "int",
            "default": 5,
            "min": 1,
            "max": 10000,
            "help": "Clusters smaller than this are used only when no other has free rows.",
        },
        "max_reference": {
            "type": "int",
            "default": 10000,
            "min": 10,
            "max": 1000000,
            "help": "Rows of a cluster its typicality is measured against (seeded sample above).",
        },
    }

    def _select_pool(self, k: int, inputs: Inputs, rng: np.random.Generator):
        good = torch.ones_like(inputs.pool) if inputs.bad_rows is None else ~inputs.bad_rows
        rows = torch.nonzero(good).squeeze(1)
        x = inputs.embeddings[rows]
        free = inputs.pool[rows].cpu().numpy()
        n_clusters = min(int((~inputs.pool[rows]).sum()) + k, self.max_clusters, x.shape[0])
        _, labels_t = kmeans(x, n_clusters, rng)
        labels = labels_t.cpu().numpy()
        sizes = np.bincount(labels, minlength=n_clusters)
        covered = np.bincount(labels[~free], minlength=n_clusters)
        small = sizes < self.min_cluster_size
        members = {int(c): np.flatnonzero(labels == c) for c in np.flatnonzero(sizes)}
        typ: dict[int, np.ndarray] = {}
        n_free = np.bincount(labels[free], minlength=n_clusters)
        picks, scores = [], []
        for _ in range(k):
            has_free = n_free > 0
            if not has_free.any():
                break
            # fewest covered first, then largest, then lowest id; tiny clusters only as a last resort
            order = np.lexsort((np.arange(n_clusters), -sizes, covered, small | ~has_free))
            c = int(order[0])
            idx = members[c]
            if c not in typ:
                refs = None
                if idx.shape[0] > self.max_reference:
                    refs = torch.as_tensor(
                        np.sort(rng.choice(idx.shape[0], self.max_reference, replace=False)),
                        device=x.device,
                    )
                t_c = typicality(x[torch.as_tensor(idx, device=x.device)], self.neighbors, refs)
                typ[c] = t_c.double().cpu().numpy()
            t = np.where(free[idx], typ[c], -np.inf)
            best = int(np.argmax(t))
            picks.append(int(rows[idx[best]]))
            scores.append(float(t[best]))
            free[idx[best]] = False
            covered[c] += 1
            n_free[c] -= 1
        picks_arr = np.asarray(picks, dtype=np.int64)
        scores_arr = np.asarray(scores, dtype=np.float64)
        if picks_arr.shape[0] < k and inputs.bad_rows is not None:
            rest = torch.nonzero(inputs.pool & inputs.bad_rows).squeeze(1).cpu().numpy()
            rest = rest[: k - picks_arr.shape[0]]
            picks_arr = np.concatenate([picks_arr, rest])
            scores_arr = np.concatenate([scores_arr, np.full(rest.shape[0], -np.inf)])
        return picks_arr, scores_arr
