"""Uncertainty sampling over class probabilities ``[n, c]`` (Settles 2009, section 3.1).

https://burrsettles.com/pub/settles.activelearning.pdf
Each measure is one function, used by its strategy and by ``hybrid``/``density_weighted``.
"""

from __future__ import annotations

import numpy as np
import torch

from al_engine.base import Inputs, Strategy
from al_engine.chunks import map_rows, safe_log
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


#: rows per chunk of the column passes: a chunk's class columns stay in the L2 cache
COLUMN_CHUNK = 1 << 14
#: column passes on CPU tensors run on numpy (tests turn it off to run the CUDA code on the CPU)
NUMPY_ON_CPU = True


def _class_columns(p: torch.Tensor, dtype: torch.dtype):
    """A row chunk as one contiguous vector per class, converted to ``dtype`` in the same copy,
    and the array library to work on it: numpy on the CPU (a ufunc call costs ~1 us against
    5-20 us for a torch op on a row worker, and the ~30 calls per chunk dominate), else torch.

    Element-wise ops over whole columns beat reductions over a 10-wide inner dimension ~2x.
    """
    cols = torch.empty((p.shape[1], p.shape[0]), dtype=dtype, device=p.device)
    if p.device.type == "cpu" and NUMPY_ON_CPU:
        out = cols.numpy()
        out[...] = p.detach().numpy().T
        return np, out
    cols.copy_(p.T)
    return torch, cols


def _least_confident_rows(p: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    lib, cols = _class_columns(p, dtype)
    top = cols[0]  # our own buffer: updated in place
    for col in cols[1:]:
        lib.maximum(top, col, out=top)
    return torch.as_tensor(lib.subtract(1.0, top, out=top))


def _margin_rows(p: torch.Tensor, dtype: torch.dtype, *, guard: bool = False):
    # running top-2: 3 vector ops per class, no sort, no scatter; a tie for first place gives
    # second == top, a margin of 0 as it should
    lib, cols = _class_columns(p, dtype)
    top = cols[0]
    second = lib.full_like(top, float("-inf"))
    tmp = lib.empty_like(top)
    for col in cols[1:]:
        lib.minimum(top, col, out=tmp)
        lib.maximum(second, tmp, out=second)
        lib.maximum(top, col, out=top)
    bad = None
    if guard and not (top.max() <= 1.0 and second.min() >= 0.0):  # (a NaN also gets here)
        bad = (top > 1.0) | (second < 0.0)
    lib.subtract(second, top, out=second)
    second += 1.0
    if bad is not None:
        second[bad] = float("nan")
    return torch.as_tensor(second)


def least_confident(probs: torch.Tensor) -> torch.Tensor:
    """``1 - max_c p``: high when the top class is unsure."""
    return map_rows(lambda p: _least_confident_rows(p, p.dtype), probs, chunk=COLUMN_CHUNK)


def margin(probs: torch.Tensor) -> torch.Tensor:
    """``1 - (p_top1 - p_top2)``: high when the two best classes are close (1 class: 0)."""
    if probs.shape[1] == 1:
        return torch.zeros(probs.shape[0], dtype=probs.dtype, device=probs.device)
    return map_rows(lambda p: _margin_rows(p, p.dtype), probs, chunk=COLUMN_CHUNK)


def least_confident_float32(p: torch.Tensor) -> torch.Tensor:
    """Least-confident scores in float32 of float64 rows, for the screen (``al_engine.screen``).

    Rounding to float32 is monotone, so the float32 maximum is the rounded float64 one, and the
    score is off by a few float32 ulps of ``max(1, |score|)``: inside the screen's bound for
    any input, probabilities or not.
    """
    return _least_confident_rows(p, torch.float32)


def margin_float32(p: torch.Tensor) -> torch.Tensor:
    """Margin scores in float32 of float64 rows, for the screen: the float32 top two are the
    rounded float64 top two, and with ``0 <= second <= top <= 1`` the score is off by a few
    float32 ulps of 1. Elsewhere the error scales with the entries, not the score (two entries
    near 1e6 a hair apart): those rows (not probabilities) get NaN, and are scored exactly."""
    return _margin_rows(p, torch.float32, guard=True)


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


#: float32 rounding errors summed in one score, and the float32 scoring of float64 rows, for the
#: float32 screen (see al_engine.screen)
SCREENS = {
    "entropy": (lambda c: c, None),
    "margin": (lambda c: 2, margin_float32),
    "least_confident": (lambda c: 1, least_confident_float32),
}


class _Uncertainty(Strategy):
    needs = frozenset({"probs"})

    def _score(self, inputs: Inputs) -> torch.Tensor:
        return UNCERTAINTY[self.name](inputs.probs)

    def _select_pool(self, k: int, inputs: Inputs, rng: np.random.Generator):
        probs = inputs.probs
        if probs.shape[1] == 1:  # one class: every score is the same
            return super()._select_pool(k, inputs, rng)
        terms, screen = SCREENS[self.name]
        return top_k(
            UNCERTAINTY[self.name],
            probs,
            inputs.pool,
            k,
            inputs.tie_rng,
            terms=terms(probs.shape[1]),
            screen=screen,
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
