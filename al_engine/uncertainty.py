"""Uncertainty sampling over class probabilities ``[n, c]`` (Settles 2009, section 3.1).

https://burrsettles.com/pub/settles.activelearning.pdf
Each measure is one function, used by its strategy and by ``hybrid``/``density_weighted``.
"""

from __future__ import annotations

import numpy as np
import torch

from al_engine.base import Inputs, Strategy, rank_measure
from al_engine.chunks import CHUNK_ROWS, map_rows, safe_log
from al_engine.registry import register
from al_engine.screen import top_k

__all__ = [
    "Entropy",
    "LeastConfident",
    "Margin",
    "RandomSampling",
    "entropy",
    "least_confident",
    "margin",
    "UNCERTAINTY",
]


def least_confident(probs: torch.Tensor) -> torch.Tensor:
    """``1 - max_c p``: high when the top class is unsure."""
    return map_rows(lambda p: 1.0 - p.amax(dim=1), probs)


def _margin(p: torch.Tensor) -> torch.Tensor:
    # running top-2 over the class columns of a cache-sized chunk: 3 vector ops per class,
    # no sort, no scatter; a tie for first place gives a margin of 0 as it should
    cols = p.T.contiguous()
    top = cols[0].clone()
    second = torch.full_like(top, float("-inf"))
    tmp = torch.empty_like(top)
    for col in cols[1:]:
        torch.minimum(top, col, out=tmp)
        torch.maximum(second, tmp, out=second)
        torch.maximum(top, col, out=top)
    return 1.0 - (top - second)


def margin(probs: torch.Tensor) -> torch.Tensor:
    """``1 - (p_top1 - p_top2)``: high when the two best classes are close (1 class: 0)."""
    if probs.shape[1] == 1:
        return torch.zeros(probs.shape[0], dtype=probs.dtype, device=probs.device)
    return map_rows(_margin, probs, chunk=1 << 14)


def neg_xlogx_sum(p: torch.Tensor, dim: int) -> torch.Tensor:
    """``-sum(p log p)`` along ``dim`` with ``0 log 0 = 0`` (probabilities as given)."""
    return safe_log(p).mul_(p).sum(dim=dim).neg_()


def entropy(probs: torch.Tensor) -> torch.Tensor:
    """Shannon entropy (nats) of each row of a probability matrix."""
    return map_rows(lambda p: neg_xlogx_sum(p, 1), probs)


UNCERTAINTY = {"least_confident": least_confident, "margin": margin, "entropy": entropy}


@register
class RandomSampling(Strategy):
    """Uniform random rows from the pool: the baseline every learning curve is compared with."""

    name = "random"
    description = "Uniformly random unlabeled rows; the baseline every strategy must beat."
    needs = frozenset()
    cold_start = True

    def _select_pool(self, k: int, inputs: Inputs, rng: np.random.Generator):
        pool = torch.nonzero(inputs.pool).squeeze(1).cpu().numpy()
        picked = rng.choice(pool, size=k, replace=False)
        scores = np.sort(rng.random(k))[::-1]
        return picked, scores


#: float32 rounding errors summed in one score, for the float32 screen (see al_engine.screen);
#: margin (a top-2 pass) and least confident (a single max) gain nothing from float32 and are
#: scored and ranked chunk by chunk instead (``rank_measure``)
SCREEN_TERMS = {"entropy": lambda c: c}


class _Uncertainty(Strategy):
    needs = frozenset({"probs"})

    def _score(self, inputs: Inputs) -> torch.Tensor:
        return UNCERTAINTY[self.name](inputs.probs)

    def _select_pool(self, k: int, inputs: Inputs, rng: np.random.Generator):
        terms = SCREEN_TERMS.get(self.name)
        probs = inputs.probs
        if terms is None:
            return rank_measure(
                UNCERTAINTY[self.name], probs, inputs.pool, k, inputs.tie_rng, chunk=CHUNK_ROWS
            )
        return top_k(
            UNCERTAINTY[self.name],
            probs,
            inputs.pool,
            k,
            inputs.tie_rng,
            terms=terms(probs.shape[1]),
        )


@register
class LeastConfident(_Uncertainty):
    """Least-confident sampling (Lewis & Gale 1994): https://arxiv.org/abs/cmp-lg/9407020"""

    name = "least_confident"
    description = "Rows whose most likely class has the lowest probability (score 1 - max p)."


@register
class Margin(_Uncertainty):
    """Margin sampling (Scheffer et al. 2001): https://doi.org/10.1007/3-540-44816-0_31"""

    name = "margin"
    description = "Rows whose two most likely classes are closest (score 1 - (p1 - p2))."


@register
class Entropy(_Uncertainty):
    """Entropy sampling (Shannon 1948; Settles 2009 eq. 3.3)."""

    name = "entropy"
    description = "Rows with the highest entropy of the predicted class distribution."
