"""Core-set selection: greedy k-center from the labeled set (Sener & Savarese 2018).

https://arxiv.org/abs/1708.00489

Each pick is the pool row farthest from every labeled or already picked row. The greedy loop is
exact, but distances are computed for a block of the current farthest candidates at once (one
matrix product instead of a matrix-vector product per pick); a block is reused as long as the
next pick falls inside it. Memory is O(n * block), never O(n^2).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from al_engine.base import Inputs, Strategy
from al_engine.distances import BLOCK_ELEMENTS, min_sq_dist, sq_dist_block, sq_norms
from al_engine.registry import register

__all__ = ["Coreset", "kcenter_greedy"]


def kcenter_greedy(
    x: torch.Tensor,
    selectable: torch.Tensor,
    centers: torch.Tensor,
    k: int,
    block: int = 128,
) -> tuple[np.ndarray, np.ndarray]:
    """Greedy k-center: ``k`` rows of ``x`` among ``selectable``, starting from ``centers`` (bool).

    Returns row indices in pick order and each pick's distance to the nearest earlier center.
    Without any starting center, the first pick is the selectable row nearest to their mean.
    Ties go to the lowest row index.
    """
    n = x.shape[0]
    x_n2 = sq_norms(x)
    neg_inf = float("-inf")
    picks: list[int] = []
    dists: list[float] = []
    if bool(centers.any()):
        mind, _ = min_sq_dist(x, x[centers], x_n2)
    else:
        mean = x[selectable].mean(dim=0, keepdim=True)
        d0, _ = min_sq_dist(x, mean, x_n2)
        first = int(torch.argmax(torch.where(selectable, -d0, neg_inf)))
        mind = sq_dist_block(x, x_n2, x[first : first + 1], x_n2[first : first + 1])[:, 0]
        picks.append(first)
        dists.append(float(mind.max().sqrt()))  # the radius this first center covers
        k -= 1
        selectable = selectable.clone()
        selectable[first] = False
    score_t = torch.where(selectable, mind, neg_inf)
    block = max(1, min(block, BLOCK_ELEMENTS // max(n, 1)))
    # The per-pick updates are tiny vector ops: numpy runs them far faster than torch's
    # dispatcher on CPU; on CUDA they stay on the device.
    on_cpu = x.device.type == "cpu"
    xp = np if on_cpu else torch
    score: Any = score_t.numpy() if on_cpu else score_t
    cols: dict[int, int] = {}
    dblock: Any = None
    for _ in range(k):
        j = int(score.argmax())
        if score[j] == neg_inf:
            break
        if j not in cols:
            if on_cpu:
                cand = np.argsort(-score, kind="stable")[:block]
                cand = cand[score[cand] > neg_inf]
            else:
                top = torch.topk(score, min(block, n)).indices
                cand = top[score[top] > neg_inf].cpu().numpy()
            if j not in set(cand.tolist()):
                cand = np.concatenate([cand[:-1], [j]])
            ct = torch.as_tensor(cand, device=x.device)
            dblock_t = sq_dist_block(x[ct], x_n2[ct], x, x_n2)  # [block, n]: rows contiguous
            dblock = dblock_t.numpy() if on_cpu else dblock_t
            cols = {int(c): i for i, c in enumerate(cand.tolist())}
        picks.append(j)
        dists.append(float(score[j]) ** 0.5)
        xp.minimum(score, dblock[cols.pop(j)], out=score)
        score[j] = neg_inf
    return np.asarray(picks, dtype=np.int64), np.asarray(dists, dtype=np.float64)


@register
class Coreset(Strategy):
    """Greedy k-center core-set (Sener & Savarese 2018): https://arxiv.org/abs/1708.00489"""

    name = "coreset"
    description = (
        "Covers the embedding space: each pick is the unlabeled row farthest from every labeled "
        "or already picked row (greedy k-center). Works without labels."
    )
    elementwise = False
    needs = frozenset({"embeddings"})
    cold_start = True

    def _select_pool(self, k: int, inputs: Inputs, rng: np.random.Generator):
        return select_diverse(k, inputs, inputs.pool, inputs.labeled)


def select_diverse(
    k: int, inputs: Inputs, selectable: torch.Tensor, centers: torch.Tensor
) -> tuple[np.ndarray, np.ndarray]:
    """k-center over good rows; rows with non-finite embeddings come last with score -inf."""
    x = inputs.embeddings
    bad = inputs.bad_rows
    good = selectable if bad is None else selectable & ~bad
    picks, dists = kcenter_greedy(x, good, centers if bad is None else centers & ~bad, k)
    if picks.shape[0] < k and bad is not None:
        rest = torch.nonzero(selectable & bad).squeeze(1).cpu().numpy()[: k - picks.shape[0]]
        picks = np.concatenate([picks, rest])
        dists = np.concatenate([dists, np.full(rest.shape[0], -np.inf)])
    return picks, dists
