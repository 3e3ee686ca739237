"""Hybrid: the top-M rows by an uncertainty or committee score, then a diverse batch among them.

Cluster-Margin (Citovsky et al. 2021, https://arxiv.org/abs/2107.14263) in spirit: a batch of the
k most uncertain rows is redundant (near-duplicates share their uncertainty), so the batch is
drawn from ``M = candidates * k`` uncertain rows either by greedy k-center from the labeled rows
(``kcenter``) or by k-means over the candidates and a round-robin over the clusters, smallest
cluster first, taking each cluster's most uncertain row (``cluster``).
"""

from __future__ import annotations

import numpy as np
import torch

from al_engine.base import Inputs, Strategy, rank_top
from al_engine.committee import COMMITTEE
from al_engine.coreset import kcenter_greedy
from al_engine.kmeans import kmeans
from al_engine.registry import register
from al_engine.uncertainty import UNCERTAINTY

__all__ = ["Hybrid"]

SCORES = {**UNCERTAINTY, **COMMITTEE}


@register
class Hybrid(Strategy):
    """Uncertainty pre-filter + diversity (Cluster-Margin style)."""

    name = "hybrid"
    description = (
        "Takes the most uncertain candidates, then a diverse batch among them (k-center or "
        "cluster round-robin). The recommended strategy for batches of more than one row."
    )
    elementwise = False
    needs = frozenset({"probs", "embeddings"})
    params = {
        "score": {
            "type": "choice",
            "default": "margin",
            "choices": sorted(SCORES),
            "help": "Uncertainty (probs) or committee (committee_probs) score of the pre-filter.",
        },
        "candidates": {
            "type": "int",
            "default": 10,
            "min": 1,
            "max": 1000,
            "help": "The pre-filter keeps this many times the batch size of the top-scored rows.",
        },
        "diversity": {
            "type": "choice",
            "default": "kcenter",
            "choices": ["kcenter", "cluster"],
            "help": "kcenter: farthest from labeled and picked rows; cluster: k-means round-robin.",
        },
    }

    def required_inputs(self) -> frozenset[str]:
        source = "committee_probs" if self.score in COMMITTEE else "probs"
        return frozenset({source, "embeddings"})

    def _select_pool(self, k: int, inputs: Inputs, rng: np.random.Generator):
        scorer = SCORES[self.score]
        src = inputs.committee_probs if self.score in COMMITTEE else inputs.probs
        scores = scorer(src)
        if inputs.bad_rows is not None:
            scores = scores.masked_fill(inputs.bad_rows, float("nan"))
        n_pool = int(torch.count_nonzero(inputs.pool))
        m = min(n_pool, self.candidates * k)
        cand, cand_scores = rank_top(scores, inputs.pool, m, inputs.tie_rng)
        finite = np.isfinite(cand_scores)
        good, good_scores = cand[finite], cand_scores[finite]
        if good.shape[0] <= k:
            return cand[:k], cand_scores[:k]
        if self.diversity == "kcenter":
            chosen = self._kcenter(inputs, good, k)
        else:
            chosen = self._cluster(inputs, good, good_scores, k, rng)
        return good[chosen], good_scores[chosen]

    @staticmethod
    def _kcenter(inputs: Inputs, good: np.ndarray, k: int) -> np.ndarray:
        labeled = inputs.labeled
        if inputs.bad_rows is not None:
            labeled = labeled & ~inputs.bad_rows
        lab = torch.nonzero(labeled).squeeze(1)
        rows = torch.cat([torch.as_tensor(good, device=lab.device), lab])
        x = inputs.embeddings[rows]
        selectable = torch.zeros(rows.shape[0], dtype=torch.bool, device=x.device)
        selectable[: good.shape[0]] = True
        picks, _ = kcenter_greedy(x, selectable, ~selectable, k)
        return picks

    @staticmethod
    def _cluster(
        inputs: Inputs, good: np.ndarray, good_scores: np.ndarray, k: int, rng: np.random.Generator
    ) -> np.ndarray:
        x = inputs.embeddings[torch.as_tensor(good, device=inputs.embeddings.device)]
        _, labels_t = kmeans(x, k, rng)
        labels = labels_t.cpu().numpy()
        sizes = np.bincount(labels, minlength=k)
        queues = []
        for c in np.lexsort((np.arange(k), sizes)):
            members = np.flatnonzero(labels == c)
            if members.shape[0]:
                # good is sorted best first already, so members are in score order
                queues.append([int(i) for i in members])
        chosen: list[int] = []
        while len(chosen) < k:
            for q in queues:
                if q and len(chosen) < k:
                    chosen.append(q.pop(0))
        return np.asarray(chosen, dtype=np.int64)
