"""BADGE: k-means++ seeding over gradient embeddings (Ash et al. 2020).

https://arxiv.org/abs/1906.03671

The gradient embedding of a row is ``g = (p - onehot(argmax p)) (x) h``: the gradient of the
cross-entropy of the predicted label with respect to a linear head's weights. Its ``c * d``
entries are never materialized: ``|g_i - g_j|^2 = |a_i|^2 |h_i|^2 + |a_j|^2 |h_j|^2
- 2 (a_i . a_j)(h_i . h_j)`` with ``a = p - onehot``, so each pick costs O(n (c + d)).
"""

from __future__ import annotations

import numpy as np
import torch

from al_engine.base import Inputs, Strategy
from al_engine.registry import register

__all__ = ["Badge", "badge_select"]


def badge_select(
    probs: torch.Tensor,
    emb: torch.Tensor,
    selectable: torch.Tensor,
    k: int,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """k-means++ over gradient embeddings of the selectable rows: first the largest gradient."""
    rows = torch.nonzero(selectable).squeeze(1)
    p = probs[rows].to(torch.float64)
    h = emb[rows].to(torch.float64)
    a = p.clone()
    a.scatter_add_(1, p.argmax(dim=1, keepdim=True), -torch.ones_like(p[:, :1]))
    a_n2, h_n2 = (a * a).sum(dim=1), (h * h).sum(dim=1)
    g_n2 = (a_n2 * h_n2).cpu().numpy()
    a_np, h_np = a.cpu().numpy(), h.cpu().numpy()
    g_np = g_n2.copy()
    j = int(np.argmax(g_np))
    picks, scores = [j], [float(g_np[j])]
    mind = np.full(rows.shape[0], np.inf)
    for _ in range(k - 1):
        d = g_n2 + g_n2[j] - 2.0 * (a_np @ a_np[j]) * (h_np @ h_np[j])
        np.minimum(mind, np.maximum(d, 0.0), out=mind)
        mind[picks] = 0.0
        total = mind.sum()
        if total > 0:
            j = int(np.searchsorted(np.cumsum(mind), rng.random() * total, side="right"))
            j = min(j, mind.shape[0] - 1)
        else:  # all remaining gradients coincide with a pick: take the lowest free row
            taken = np.zeros(mind.shape[0], bool)
            taken[picks] = True
            j = int(np.flatnonzero(~taken)[0])
        picks.append(j)
        scores.append(float(mind[j]))
    idx = rows.cpu().numpy()[np.asarray(picks, dtype=np.int64)]
    return idx, np.asarray(scores, dtype=np.float64)


@register
class Badge(Strategy):
    """BADGE (Ash et al. 2020): https://arxiv.org/abs/1906.03671"""

    name = "badge"
    description = (
        "Batch of rows that are both uncertain and diverse: k-means++ seeding over the gradient "
        "each row would give a linear head (embeddings x (p - predicted one-hot))."
    )
    elementwise = False
    needs = frozenset({"probs", "embeddings"})

    def _select_pool(self, k: int, inputs: Inputs, rng: np.random.Generator):
        finite = torch.isfinite(inputs.probs).all(dim=1)
        if inputs.bad_rows is not None:
            finite &= ~inputs.bad_rows
        good = inputs.pool & finite
        picks = np.zeros(0, dtype=np.int64)
        scores = np.zeros(0, dtype=np.float64)
        n_good = int(good.sum())
        if n_good:
            picks, scores = badge_select(inputs.probs, inputs.embeddings, good, min(k, n_good), rng)
        if picks.shape[0] < k:
            rest = torch.nonzero(inputs.pool & ~finite).squeeze(1).cpu().numpy()
            rest = rest[: k - picks.shape[0]]
            picks = np.concatenate([picks, rest])
            scores = np.concatenate([scores, np.full(rest.shape[0], -np.inf)])
        return picks, scores
